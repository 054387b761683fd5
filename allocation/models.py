# Dispatch batches, sources, receipts and the allocation proposal arrive with the
# allocation issue (#4). The app is registered now so its migrations start from the project's
# first release.
