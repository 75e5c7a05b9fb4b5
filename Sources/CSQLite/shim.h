// SQLite 3 (Debian: libsqlite3-dev): the per-party state store (docs/architecture.md).
#include <sqlite3.h>
