from django.urls import path

from wechat import views

urlpatterns = [
    path("callback", views.callback, name="wechat-callback"),
]
