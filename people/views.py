from __future__ import annotations

from django.contrib.auth import authenticate
from django.contrib.auth import logout as end_session
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes, throttle_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle

from backend.openapi import errors
from people import tokens
from people.models import ApiToken
from people.serializers import CredentialsSerializer, MeSerializer

TOKEN_ANSWER = inline_serializer(
    "Token",
    {
        "token": serializers.CharField(),
        "expires": serializers.DateTimeField(),
        "device": serializers.CharField(),
    },
)


class LoginThrottle(AnonRateThrottle):
    """Per client address, which comes from settings.TRUSTED_PROXIES trusted proxies only
    (REST_FRAMEWORK["NUM_PROXIES"]): a forged X-Forwarded-For does not make a new client."""

    rate = "30/min"


def _token_answer(key: str, token: ApiToken, code: int = status.HTTP_200_OK) -> Response:
    return Response(
        {"token": key, "expires": token.expires_at, "device": token.device}, status=code
    )


@extend_schema(
    request=CredentialsSerializer, responses={200: TOKEN_ANSWER, **errors(400, 429)}, auth=[]
)
@api_view(["POST"])
@permission_classes([AllowAny])
@throttle_classes([LoginThrottle])
def obtain_token(request):
    """Exchange a username and password for an API token of this device (`Authorization: Token
    <token>`). It expires (`expires`): renew it before then with POST /api/auth/token/renew. Too
    many failures lock the account and the address out for a while (429, docs/security.md)."""
    creds = CredentialsSerializer(data=request.data)
    creds.is_valid(raise_exception=True)
    v = creds.validated_data
    # Django's request (not DRF's): django-axes counts failures per account and per address on it.
    user = authenticate(request._request, username=v["username"], password=v["password"])
    if getattr(request._request, "axes_locked_out", False):
        return Response(
            {
                "detail": "登录失败次数过多，请稍后再试 / too many failed sign-ins: try again later.",
                "code": "locked_out",
            },
            status=status.HTTP_429_TOO_MANY_REQUESTS,
        )
    if user is None or not user.is_active:
        return Response(
            {"detail": "用户名或密码错误 / wrong username or password."},
            status=status.HTTP_400_BAD_REQUEST,
        )
    key, token = tokens.issue(user, device=v["device"])
    return _token_answer(key, token)


def _current_token(request) -> ApiToken:
    if not isinstance(request.auth, ApiToken):
        raise PermissionDenied("Authenticate with the token itself (Authorization: Token …).")
    return request.auth


@extend_schema(request=None, responses={200: TOKEN_ANSWER, **errors(403)})
@api_view(["POST"])
def renew_token(request):
    """A new key and expiry for the token you authenticate with; the old key stops working."""
    key, token = tokens.renew(_current_token(request))
    return _token_answer(key, token)


@extend_schema(request=None, responses={204: None, **errors(403)})
@api_view(["POST"])
def logout(request):
    """Sign out: revokes the token you authenticate with, or ends the session."""
    if isinstance(request.auth, ApiToken):
        tokens.revoke(request.auth)
    else:
        end_session(request._request)
    return Response(status=status.HTTP_204_NO_CONTENT)


def _token_row(token: ApiToken) -> dict:
    return {
        "id": token.pk,
        "user": token.user.username,
        "device": token.device,
        "created": token.created_at,
        "expires": token.expires_at,
        "last_used": token.last_used_at,
    }


@extend_schema(
    responses={200: dict, **errors(403)},
    parameters=[
        OpenApiParameter(
            "user", str, required=False, description="administrators: another person's username"
        )
    ],
)
@api_view(["GET"])
def token_list(request):
    """Your API tokens (device, expiry, last use); administrators may name another `user`."""
    rows = ApiToken.objects.select_related("user").order_by("-created_at")
    who = request.query_params.get("user")
    if request.user.is_superuser and who:
        rows = rows.filter(user__username=who)
    else:
        rows = rows.filter(user=request.user)
    return Response({"results": [_token_row(t) for t in rows[:200]]})


@extend_schema(
    request=None,
    responses={204: None, **errors(403, 404)},
    parameters=[OpenApiParameter("id", {"type": "integer", "minimum": 0}, OpenApiParameter.PATH)],
)
@api_view(["DELETE"])
def token_revoke(request, pk: int):
    """Revoke one token: your own, or anyone's for an administrator."""
    scope = Q() if request.user.is_superuser else Q(user=request.user)
    tokens.revoke(get_object_or_404(ApiToken.objects.filter(scope), pk=pk))
    return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(responses={200: MeSerializer, **errors(403)})
@api_view(["GET"])
def me(request):
    """The signed-in person: role, organisation and assigned grids."""
    return Response(MeSerializer(request.user).data)


@extend_schema(
    responses=inline_serializer(
        "Health", {"status": serializers.CharField(), "database": serializers.CharField()}
    ),
    auth=[],
)
@api_view(["GET"])
@permission_classes([AllowAny])
def health(request):
    """Liveness and database reachability, for load balancers and monitoring."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return Response({"status": "ok", "database": connection.vendor})
