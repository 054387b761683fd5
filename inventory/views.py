def daily_entry(request):
    raise NotImplementedError
