"""Load a province from a folder of data files: the demo (Gansu, early 2020) or an office's own.

- `files.province_read(directory)` reads and checks every file of the folder (nothing saved);
- `generate` draws the generated series (daily figures, the reserve ledger, production
  reports, the dispatch batches) from the folder's parameters and seed, with no database;
- `load.province_load(province)` writes it all through the services, idempotently.

`manage.py load_demo` loads the demo folder, `manage.py load_demo --data DIR` another one. The
layout of a folder is described in supplycoord/data/demo/README.md.

The loader sits in `reports`, the app that may read every other: it writes into all of them.
"""

from .files import (
    DEMO_NOTE,
    DEMO_NOTE_PREFIX,
    GANSU,
    Province,
    ProvinceDataInvalid,
    ProvinceFileError,
    province_read,
    province_shift,
)
from .load import province_laid_shift, province_load

__all__ = [
    "DEMO_NOTE",
    "DEMO_NOTE_PREFIX",
    "GANSU",
    "Province",
    "ProvinceDataInvalid",
    "ProvinceFileError",
    "province_laid_shift",
    "province_load",
    "province_read",
    "province_shift",
]
