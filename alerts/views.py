"""Alerts over HTTP: the list (after a seq), the unread count, marking read."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.response import Response

from alerts.models import Notification
from backend.openapi import errors
from cases.serializers import MAX_ID


class AlertQuery(serializers.Serializer):
    since = serializers.IntegerField(required=False, min_value=0, max_value=MAX_ID, default=0)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500, default=100)
    unread = serializers.BooleanField(required=False, default=False)


class ReadBody(serializers.Serializer):
    up_to = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_ID,
        help_text="Mark every alert with seq ≤ up_to read",
    )
    seqs = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        max_length=1000,
    )

    def validate(self, data):
        if "up_to" not in data and not data.get("seqs"):
            raise serializers.ValidationError("Give up_to or seqs.")
        return data


@extend_schema(parameters=[AlertQuery], responses={200: dict, **errors(400, 403)})
@api_view(["GET"])
def alerts(request):
    """Your alerts after `since`, oldest first, with read state and the unread count."""
    query = AlertQuery(data=request.query_params)
    query.is_valid(raise_exception=True)
    q = query.validated_data
    rows = Notification.objects.filter(user=request.user, seq__gt=q["since"])
    if q["unread"]:
        rows = rows.filter(read_at__isnull=True)
    items = [
        {**n.payload, "read": n.read_at is not None} for n in rows.order_by("seq")[: q["limit"]]
    ]
    return Response({"results": items, "unread": _unread(request.user)})


def _unread(user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


@extend_schema(
    responses={
        200: inline_serializer("Unread", {"unread": serializers.IntegerField()}),
        **errors(403),
    }
)
@api_view(["GET"])
def unread(request):
    return Response({"unread": _unread(request.user)})


@extend_schema(
    request=ReadBody,
    responses={
        200: inline_serializer("Read", {"unread": serializers.IntegerField()}),
        **errors(400, 403),
    },
)
@api_view(["POST"])
def mark_read(request):
    body = ReadBody(data=request.data)
    body.is_valid(raise_exception=True)
    rows = Notification.objects.filter(user=request.user, read_at__isnull=True)
    if "up_to" in body.validated_data:
        rows = rows.filter(seq__lte=body.validated_data["up_to"])
    else:
        rows = rows.filter(seq__in=body.validated_data["seqs"])
    rows.update(read_at=timezone.now())
    return Response({"unread": _unread(request.user)})
