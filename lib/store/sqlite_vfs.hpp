#pragma once
// SQLite writes a WAL frame as two calls, its 24-byte header and then its page: a settle's commit
// of about 14 pages was 28 pwrite calls on the store thread, with the answer waiting for them.
// This VFS, a shim over the default one, gathers the frames SQLite appends to a WAL file and
// hands them to the file in one call once the commit frame is complete, before SQLite goes on to
// mark the commit visible in the WAL index; so a commit is in the file when SQLite returns, as
// it was. It also writes what it gathered before SQLite reads, syncs, truncates or sizes the file,
// before a write that goes back over frames (written at once), before it would pass 120 KiB, and
// before the connection lets go of the WAL write lock: frames spilled by a transaction that then
// rolled back go out while no other connection can write there, as SQLite would have written
// them. Other files pass straight through.
#include <cstdint>

namespace oneapi::store::sqlite {

// Registers the shim as the default VFS (once; before the first connection opens).
void install_wal_write_gathering();

// WAL writes SQLite asked for, and write calls the files got for them, since the process started.
struct WalWriteCounts {
  uint64_t asked = 0;
  uint64_t issued = 0;
};
WalWriteCounts wal_write_counts();

}  // namespace oneapi::store::sqlite
