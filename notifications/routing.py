from django.urls import path

from notifications.consumers import EventsConsumer

websocket_urlpatterns = [
    path("ws/v1/", EventsConsumer.as_asgi()),
]
