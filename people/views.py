from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.decorators import api_view, permission_classes, throttle_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle

from backend.openapi import errors
from people.serializers import CredentialsSerializer, MeSerializer


class LoginThrottle(AnonRateThrottle):
    rate = "30/min"


@extend_schema(
    request=CredentialsSerializer,
    responses={200: inline_serializer("Token", {"token": serializers.CharField()}), **errors(400, 429)},
    auth=[],
)
@api_view(["POST"])
@permission_classes([AllowAny])
@throttle_classes([LoginThrottle])
def obtain_token(request):
    """Exchange a username and password for an API token (`Authorization: Token <token>`)."""
    creds = CredentialsSerializer(data=request.data)
    creds.is_valid(raise_exception=True)
    user = authenticate(request, **creds.validated_data)
    if user is None or not user.is_active:
        return Response(
            {"detail": "用户名或密码错误 / wrong username or password."},
            status=status.HTTP_400_BAD_REQUEST,
        )
    token, _created = Token.objects.get_or_create(user=user)
    return Response({"token": token.key})


@extend_schema(responses={200: MeSerializer, **errors(403)})
@api_view(["GET"])
def me(request):
    """The signed-in person: role, organisation and assigned grids."""
    return Response(MeSerializer(request.user).data)


@extend_schema(responses=inline_serializer("Health", {"status": serializers.CharField(),
                                                      "database": serializers.CharField()}), auth=[])
@api_view(["GET"])
@permission_classes([AllowAny])
def health(request):
    """Liveness and database reachability, for load balancers and monitoring."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return Response({"status": "ok", "database": connection.vendor})
