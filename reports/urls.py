from django.urls import path

from . import screen_views, views, views_inbound, views_production, views_proposals
from . import views_decisions as decisions
from .views_demand import demand_estimate, norms

app_name = "reports"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("trend/", views.trend, name="trend"),
    path("prefectures/<str:code>/", views.prefecture_detail, name="prefecture"),
    path("items/<str:code>/", views.item_detail, name="item"),
    path("map/", screen_views.mini_map, name="mini_map"),
    path("export/daily.<str:fmt>", views.daily_export, name="export"),
    path("build/", views.build, name="build"),
    path("reconciliation/", views.reconciliation, name="reconciliation"),
    path("reconciliation/<int:pk>/", views.reconciliation_act, name="reconciliation_act"),
    path("demand/", demand_estimate, name="demand"),
    path("norms/", norms, name="norms"),
    path("production/", views_production.dashboard, name="production_dashboard"),
    path("inbound/", views_inbound.inbound, name="inbound"),
    path("proposals/", views_proposals.proposal_list, name="proposal_list"),
    path("proposals/new/", views_proposals.proposal_new, name="proposal_new"),
    path("proposals/floors/", views_proposals.reserve_floors, name="reserve_floors"),
    path("proposals/<int:pk>/", views_proposals.proposal_detail, name="proposal_detail"),
    path("proposals/<int:pk>/preview/", views_proposals.proposal_preview, name="proposal_preview"),
]

# Decision support: spot checks and shortage alerts (reports/decisions.py).
urlpatterns += [
    path("spot-checks/", decisions.spot_checks, name="spot_checks"),
    path("spot-checks/notice.xlsx", decisions.spot_check_notice, name="spot_check_notice"),
    path(
        "spot-checks/<int:pk>/follow-up/",
        decisions.spot_check_follow_up,
        name="spot_check_follow_up",
    ),
    path("alerts/", decisions.alerts, name="alerts"),
    path("alerts/panel/", decisions.alerts_panel, name="alerts_panel"),
]

# The big screen (大屏, issue 16 §1) lives at /screen/, outside /reports/: supplycoord/urls.py
# includes these under the namespace "screen".
screen_urls = (
    [
        path("", screen_views.screen_page, name="index"),
        path("parts/<str:name>/", screen_views.screen_part, name="part"),
        path("prefectures/<str:code>/", screen_views.screen_prefecture, name="prefecture"),
    ],
    "screen",
)
