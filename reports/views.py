def overview(request):
    raise NotImplementedError


trend = prefecture_detail = item_detail = daily_export = build = overview
