# The API's URLs: /api/v1/... and the OpenAPI schema with its offline docs pages.
from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from allocation.api import (
    BatchApproveView,
    BatchCancelView,
    BatchCloseView,
    BatchDetailView,
    BatchDispatchView,
    BatchListView,
    BatchReceiveView,
)
from allocation.request_api import (
    ClaimantListView,
    FillRateListView,
    RequestDetailView,
    RequestListView,
    RequestsIntoBatchesView,
    RequestTriageView,
    RequestWithdrawView,
)
from inventory.api import (
    CountyFigureListView,
    DailyFigureListView,
    StockBalanceListView,
    StockEventListView,
    StockEventReverseView,
)
from procurement.api import (
    NationalAllocationArrivalView,
    NationalAllocationDetailView,
    NationalAllocationListView,
    NationalRequestDetailView,
    NationalRequestListView,
    NationalRequestRefuseView,
    OrderArrivalView,
    OrderCancelView,
    OrderCloseView,
    OrderDetailView,
    OrderListView,
    OrderPaymentView,
    OrderPlaceView,
    ReserveUnitDetailView,
    ReserveUnitListView,
    SupplierDetailView,
    SupplierItemView,
    SupplierListView,
    SupplierSearchView,
)
from procurement.distribution_api import (
    DistributionEnterpriseListView,
    DistributionReportListView,
)
from production.api import (
    ProblemListView,
    ProblemResolveView,
    ProblemTakeView,
    ProducerListView,
    ProductionReportListView,
)
from reports.api import RollupListView, SnapshotBuildView, SnapshotListView

from .api import (
    ItemListView,
    OfflineRedocView,
    OfflineSwaggerView,
    PrefectureListView,
    TokenObtainView,
)
from .notifications.api import (
    NotificationListView,
    NotificationReadAllView,
    NotificationReadView,
    NotificationUnreadCountView,
)

app_name = "api"

urlpatterns = [
    path("v1/auth/token/", TokenObtainView.as_view(), name="token"),
    path("v1/reference/prefectures/", PrefectureListView.as_view(), name="prefectures"),
    path("v1/reference/items/", ItemListView.as_view(), name="items"),
    path("v1/daily-figures/", DailyFigureListView.as_view(), name="daily-figures"),
    path("v1/county-figures/", CountyFigureListView.as_view(), name="county-figures"),
    path("v1/stock-events/", StockEventListView.as_view(), name="stock-events"),
    path(
        "v1/stock-events/<str:document_number>/reverse/",
        StockEventReverseView.as_view(),
        name="stock-event-reverse",
    ),
    path("v1/stock-balances/", StockBalanceListView.as_view(), name="stock-balances"),
    path("v1/snapshots/", SnapshotListView.as_view(), name="snapshots"),
    path("v1/snapshots/build/", SnapshotBuildView.as_view(), name="snapshot-build"),
    path("v1/rollups/", RollupListView.as_view(), name="rollups"),
    path("v1/batches/", BatchListView.as_view(), name="batches"),
    path("v1/batches/<str:number>/", BatchDetailView.as_view(), name="batch-detail"),
    path("v1/batches/<str:number>/approve/", BatchApproveView.as_view(), name="batch-approve"),
    path("v1/batches/<str:number>/dispatch/", BatchDispatchView.as_view(), name="batch-dispatch"),
    path("v1/batches/<str:number>/receive/", BatchReceiveView.as_view(), name="batch-receive"),
    path("v1/batches/<str:number>/close/", BatchCloseView.as_view(), name="batch-close"),
    path("v1/batches/<str:number>/cancel/", BatchCancelView.as_view(), name="batch-cancel"),
    path("v1/suppliers/", SupplierListView.as_view(), name="suppliers"),
    path("v1/suppliers/<int:pk>/", SupplierDetailView.as_view(), name="supplier-detail"),
    path(
        "v1/suppliers/<int:pk>/items/<str:code>/",
        SupplierItemView.as_view(),
        name="supplier-item",
    ),
    path("v1/reserve-units/", ReserveUnitListView.as_view(), name="reserve-units"),
    path("v1/reserve-units/<int:pk>/", ReserveUnitDetailView.as_view(), name="reserve-unit-detail"),
    path(
        "v1/supplier-capabilities/",
        SupplierSearchView.as_view(),
        name="supplier-capabilities",
    ),
    path("v1/purchase-orders/", OrderListView.as_view(), name="purchase-orders"),
    path(
        "v1/purchase-orders/<str:number>/",
        OrderDetailView.as_view(),
        name="purchase-order-detail",
    ),
    path(
        "v1/purchase-orders/<str:number>/place/",
        OrderPlaceView.as_view(),
        name="purchase-order-place",
    ),
    path(
        "v1/purchase-orders/<str:number>/cancel/",
        OrderCancelView.as_view(),
        name="purchase-order-cancel",
    ),
    path(
        "v1/purchase-orders/<str:number>/close/",
        OrderCloseView.as_view(),
        name="purchase-order-close",
    ),
    path(
        "v1/purchase-orders/<str:number>/arrivals/",
        OrderArrivalView.as_view(),
        name="purchase-order-arrivals",
    ),
    path(
        "v1/purchase-orders/<str:number>/payments/",
        OrderPaymentView.as_view(),
        name="purchase-order-payments",
    ),
    path("v1/national-requests/", NationalRequestListView.as_view(), name="national-requests"),
    path(
        "v1/national-requests/<str:number>/",
        NationalRequestDetailView.as_view(),
        name="national-request-detail",
    ),
    path(
        "v1/national-requests/<str:number>/refuse/",
        NationalRequestRefuseView.as_view(),
        name="national-request-refuse",
    ),
    path(
        "v1/national-allocations/",
        NationalAllocationListView.as_view(),
        name="national-allocations",
    ),
    path(
        "v1/national-allocations/<int:pk>/",
        NationalAllocationDetailView.as_view(),
        name="national-allocation-detail",
    ),
    path(
        "v1/national-allocations/<int:pk>/arrivals/",
        NationalAllocationArrivalView.as_view(),
        name="national-allocation-arrivals",
    ),
    path(
        "v1/distribution-enterprises/",
        DistributionEnterpriseListView.as_view(),
        name="distribution-enterprises",
    ),
    path(
        "v1/distribution-reports/",
        DistributionReportListView.as_view(),
        name="distribution-reports",
    ),
    path("v1/producers/", ProducerListView.as_view(), name="producers"),
    path("v1/production-reports/", ProductionReportListView.as_view(), name="production-reports"),
    path("v1/production-problems/", ProblemListView.as_view(), name="production-problems"),
    path(
        "v1/production-problems/<int:pk>/take/",
        ProblemTakeView.as_view(),
        name="production-problem-take",
    ),
    path(
        "v1/production-problems/<int:pk>/resolve/",
        ProblemResolveView.as_view(),
        name="production-problem-resolve",
    ),
    # Requests from below (issue 15).
    path("v1/requests/", RequestListView.as_view(), name="requests"),
    path(
        "v1/requests/into-batches/",
        RequestsIntoBatchesView.as_view(),
        name="requests-into-batches",
    ),
    path("v1/requests/<str:number>/", RequestDetailView.as_view(), name="request-detail"),
    path("v1/requests/<str:number>/triage/", RequestTriageView.as_view(), name="request-triage"),
    path(
        "v1/requests/<str:number>/withdraw/",
        RequestWithdrawView.as_view(),
        name="request-withdraw",
    ),
    path("v1/request-fill-rates/", FillRateListView.as_view(), name="request-fill-rates"),
    path("v1/claimants/", ClaimantListView.as_view(), name="claimants"),
    # Notifications (issue 16): the user's own.
    path("v1/notifications/", NotificationListView.as_view(), name="notifications"),
    path(
        "v1/notifications/unread-count/",
        NotificationUnreadCountView.as_view(),
        name="notifications-unread-count",
    ),
    path(
        "v1/notifications/read-all/",
        NotificationReadAllView.as_view(),
        name="notifications-read-all",
    ),
    path(
        "v1/notifications/<int:pk>/read/",
        NotificationReadView.as_view(),
        name="notification-read",
    ),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", OfflineSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", OfflineRedocView.as_view(url_name="api:schema"), name="redoc"),
]
