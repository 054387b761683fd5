"""The API of notifications: a user's own list (worded in the request's language), its unread
count, and marking read. The same services as the pages."""

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from ..api import ApiPagination
from . import selectors, services
from .kinds import render
from .models import Notification


class NotificationSerializer(serializers.ModelSerializer):
    title = serializers.SerializerMethodField()
    body = serializers.SerializerMethodField()
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "url", "params", "created_at", "read", "read_at"]

    def _words(self, notification) -> tuple[str, str]:
        cache = self.context.setdefault("_words", {})
        if notification.pk not in cache:
            cache[notification.pk] = render(notification.kind, notification.params)
        return cache[notification.pk]

    def get_title(self, notification) -> str:
        return self._words(notification)[0]

    def get_body(self, notification) -> str:
        return self._words(notification)[1]

    def get_read(self, notification) -> bool:
        return notification.read_at is not None


@extend_schema(
    tags=["notifications"],
    parameters=[
        OpenApiParameter(
            "unread", OpenApiTypes.BOOL, description="true: only the unread ones.", required=False
        )
    ],
)
class NotificationListView(generics.ListAPIView):
    """The signed-in user's notifications, newest first, worded in the request's language
    (Accept-Language or the language cookie)."""

    serializer_class = NotificationSerializer
    pagination_class = ApiPagination
    filter_backends = []

    def get_queryset(self):
        rows = Notification.objects.filter(recipient=self.request.user, in_app=True)
        unread = (self.request.query_params.get("unread") or "").lower()
        if unread not in ("", "true", "false", "1", "0"):
            raise ValidationError({"unread": [_("Give true or false.")]})
        if unread in ("true", "1"):
            rows = rows.filter(read_at__isnull=True)
        elif unread in ("false", "0"):
            rows = rows.filter(read_at__isnull=False)
        return rows.order_by("-created_at", "-pk")


@extend_schema(tags=["notifications"])
class NotificationUnreadCountView(APIView):
    @extend_schema(
        description="How many of the user's notifications are unread (the bell).",
        responses=inline_serializer("UnreadCount", {"unread": serializers.IntegerField()}),
    )
    def get(self, request):
        return Response({"unread": selectors.unread_count(request.user)})


@extend_schema(tags=["notifications"])
class NotificationReadView(APIView):
    @extend_schema(
        description="Mark one of the user's notifications read (again: no change). 404 when "
        "it is not the user's.",
        request=None,
        responses=NotificationSerializer,
    )
    def post(self, request, pk: int):
        if not services.notification_mark_read(user=request.user, notification_id=pk):
            raise Http404
        notification = Notification.objects.get(pk=pk)
        return Response(NotificationSerializer(notification).data)


@extend_schema(tags=["notifications"])
class NotificationReadAllView(APIView):
    @extend_schema(
        description="Mark every unread notification of the user read; how many were.",
        request=None,
        responses=inline_serializer("MarkedRead", {"marked": serializers.IntegerField()}),
    )
    def post(self, request):
        return Response({"marked": services.notifications_mark_all_read(user=request.user)})
