from django.urls import path

from alerts import consumers

websocket_urlpatterns = [
    path("ws/alerts/", consumers.AlertConsumer.as_asgi()),
    path("ws/cases/", consumers.CaseStreamConsumer.as_asgi()),
]
