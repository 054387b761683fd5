from django.urls import path

from . import views

app_name = "reports"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("trend/", views.trend, name="trend"),
    path("prefectures/<str:code>/", views.prefecture_detail, name="prefecture"),
    path("items/<str:code>/", views.item_detail, name="item"),
    path("export/daily.<str:fmt>", views.daily_export, name="export"),
    path("build/", views.build, name="build"),
    path("reconciliation/", views.reconciliation, name="reconciliation"),
    path("reconciliation/<int:pk>/", views.reconciliation_act, name="reconciliation_act"),
]
