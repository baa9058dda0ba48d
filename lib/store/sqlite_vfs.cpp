#include "store/sqlite_vfs.hpp"

#include <sqlite3.h>

#include <atomic>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>

namespace oneapi::store::sqlite {
namespace {

constexpr int kWalHeader = 32;    // at offset 0 of a WAL file
constexpr int kFrameHeader = 24;  // before each page
// The unix VFS writes at most 128 KiB - 1 per call (it masks the length, and reports the rest as
// a full disk), so what is gathered stays under that: a settle's commit is about 57 KiB.
constexpr size_t kGatherLimit = 120 << 10;

std::atomic<uint64_t> g_asked{0};
std::atomic<uint64_t> g_issued{0};

sqlite3_vfs* g_root = nullptr;  // the default VFS, which does the work

struct File {
  sqlite3_file base;  // methods: kMethods
  sqlite3_file* real;
  bool after_commit_header;   // the last write was a commit frame's header: its page comes next
  sqlite3_int64 gathered_at;  // where the gathered bytes go
  sqlite3_int64 run_end;      // past the last byte gathered (flushed or not) since the log began
  std::string* gathered;      // WAL files only: null for any other file
  std::string* wal_path;      // main database files: the path of their WAL file
};
// The root VFS's file lives in the same allocation, after ours.
constexpr size_t kRealOffset = (sizeof(File) + 15) & ~size_t{15};

// Open WAL files by path, for the main database file's write-lock release (x_shm_lock).
std::mutex g_wal_files_mutex;
std::unordered_multimap<std::string, File*> g_wal_files;

File* as_file(sqlite3_file* f) { return reinterpret_cast<File*>(f); }
sqlite3_file* real_of(sqlite3_file* f) { return as_file(f)->real; }
const sqlite3_io_methods& root_methods(sqlite3_file* f) { return *real_of(f)->pMethods; }

uint32_t big_endian_u32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// WAL files only.
int flush(File* f) {
  if (f->gathered->empty()) return SQLITE_OK;
  g_issued.fetch_add(1, std::memory_order_relaxed);
  std::string& g = *f->gathered;
  const int rc = f->real->pMethods->xWrite(f->real, g.data(), static_cast<int>(g.size()), f->gathered_at);
  // Failed or not, these bytes are done with: SQLite fails the transaction that wrote them.
  g.clear();
  return rc;
}

int flushed(sqlite3_file* file) {
  File* f = as_file(file);
  return f->gathered ? flush(f) : SQLITE_OK;
}

int x_close(sqlite3_file* file) {
  File* f = as_file(file);
  if (f->gathered) {  // out of the registry first: no write-lock release reaches it once closed
    std::lock_guard lock(g_wal_files_mutex);
    for (auto it = g_wal_files.begin(); it != g_wal_files.end(); ++it)
      if (it->second == f) {
        g_wal_files.erase(it);
        break;
      }
  }
  int rc = flushed(file);
  const int closed = root_methods(file).xClose(f->real);
  if (rc == SQLITE_OK) rc = closed;
  delete f->gathered;
  f->gathered = nullptr;
  delete f->wal_path;
  f->wal_path = nullptr;
  return rc;
}

int x_read(sqlite3_file* file, void* out, int amt, sqlite3_int64 off) {
  if (int rc = flushed(file); rc != SQLITE_OK) return rc;
  return root_methods(file).xRead(real_of(file), out, amt, off);
}

int x_write(sqlite3_file* file, const void* data, int amt, sqlite3_int64 off) {
  File* f = as_file(file);
  if (!f->gathered) return root_methods(file).xWrite(f->real, data, amt, off);
  g_asked.fetch_add(1, std::memory_order_relaxed);
  std::string& g = *f->gathered;
  if (off == 0) f->run_end = 0;  // a new WAL header: the log starts over
  if (off < f->run_end) {
    // Back over frames of this transaction (a page written again, checksums rewritten after the
    // commit frame): written now, after what is gathered, as SQLite ordered them.
    if (int rc = flush(f); rc != SQLITE_OK) return rc;
    g_issued.fetch_add(1, std::memory_order_relaxed);
    return root_methods(file).xWrite(f->real, data, amt, off);
  }
  if (!g.empty() && (off != f->run_end || g.size() + static_cast<size_t>(amt) > kGatherLimit))
    if (int rc = flush(f); rc != SQLITE_OK) return rc;
  if (g.empty()) f->gathered_at = off;
  g.append(static_cast<const char*>(data), static_cast<size_t>(amt));
  f->run_end = off + amt;
  // A frame header's bytes 4-7 hold the database size after a commit, and 0 in any other frame.
  const bool completes_commit = f->after_commit_header && amt != kFrameHeader;
  f->after_commit_header =
      amt == kFrameHeader && off >= kWalHeader && big_endian_u32(static_cast<const unsigned char*>(data) + 4) != 0;
  if (completes_commit) return flush(f);
  return SQLITE_OK;
}

int x_truncate(sqlite3_file* file, sqlite3_int64 size) {
  if (int rc = flushed(file); rc != SQLITE_OK) return rc;
  if (as_file(file)->run_end > size) as_file(file)->run_end = size;
  return root_methods(file).xTruncate(real_of(file), size);
}

int x_sync(sqlite3_file* file, int flags) {
  if (int rc = flushed(file); rc != SQLITE_OK) return rc;
  return root_methods(file).xSync(real_of(file), flags);
}

int x_file_size(sqlite3_file* file, sqlite3_int64* size) {
  if (int rc = flushed(file); rc != SQLITE_OK) return rc;
  return root_methods(file).xFileSize(real_of(file), size);
}

int x_lock(sqlite3_file* file, int level) { return root_methods(file).xLock(real_of(file), level); }
int x_unlock(sqlite3_file* file, int level) { return root_methods(file).xUnlock(real_of(file), level); }
int x_check_reserved_lock(sqlite3_file* file, int* out) {
  return root_methods(file).xCheckReservedLock(real_of(file), out);
}

int x_file_control(sqlite3_file* file, int op, void* arg) {
  if (int rc = flushed(file); rc != SQLITE_OK) return rc;
  return root_methods(file).xFileControl(real_of(file), op, arg);
}

int x_sector_size(sqlite3_file* file) { return root_methods(file).xSectorSize(real_of(file)); }
int x_device_characteristics(sqlite3_file* file) { return root_methods(file).xDeviceCharacteristics(real_of(file)); }

int x_shm_map(sqlite3_file* file, int region, int size, int extend, void volatile** out) {
  const auto& m = root_methods(file);
  if (m.iVersion < 2 || !m.xShmMap) return SQLITE_IOERR_SHMMAP;
  return m.xShmMap(real_of(file), region, size, extend, out);
}
int x_shm_lock(sqlite3_file* file, int offset, int n, int flags) {
  const auto& m = root_methods(file);
  if (m.iVersion < 2 || !m.xShmLock) return SQLITE_IOERR_SHMLOCK;
  // The WAL write lock (lock 0) is let go at the end of every write transaction. A transaction
  // rolled back may leave spilled frames gathered: they go out now, while no other connection can
  // write there, as SQLite itself would have written them. (Only the holder's can be non-empty.)
  constexpr int kWriteLock = 0;
  File* f = as_file(file);
  if (offset == kWriteLock && flags == (SQLITE_SHM_UNLOCK | SQLITE_SHM_EXCLUSIVE) && f->wal_path) {
    std::lock_guard lock(g_wal_files_mutex);
    auto [first, last] = g_wal_files.equal_range(*f->wal_path);
    for (auto it = first; it != last; ++it) (void)flush(it->second);
  }
  return m.xShmLock(real_of(file), offset, n, flags);
}
void x_shm_barrier(sqlite3_file* file) {
  const auto& m = root_methods(file);
  if (m.iVersion >= 2 && m.xShmBarrier) m.xShmBarrier(real_of(file));
}
int x_shm_unmap(sqlite3_file* file, int delete_flag) {
  const auto& m = root_methods(file);
  if (m.iVersion < 2 || !m.xShmUnmap) return SQLITE_OK;
  return m.xShmUnmap(real_of(file), delete_flag);
}

int x_fetch(sqlite3_file* file, sqlite3_int64 off, int amt, void** out) {
  *out = nullptr;
  const auto& m = root_methods(file);
  if (m.iVersion < 3 || !m.xFetch) return SQLITE_OK;  // no mapping: SQLite reads instead
  if (int rc = flushed(file); rc != SQLITE_OK) return rc;
  return m.xFetch(real_of(file), off, amt, out);
}
int x_unfetch(sqlite3_file* file, sqlite3_int64 off, void* p) {
  const auto& m = root_methods(file);
  if (m.iVersion < 3 || !m.xUnfetch) return SQLITE_OK;
  return m.xUnfetch(real_of(file), off, p);
}

const sqlite3_io_methods kMethods = {
    3,
    x_close,
    x_read,
    x_write,
    x_truncate,
    x_sync,
    x_file_size,
    x_lock,
    x_unlock,
    x_check_reserved_lock,
    x_file_control,
    x_sector_size,
    x_device_characteristics,
    x_shm_map,
    x_shm_lock,
    x_shm_barrier,
    x_shm_unmap,
    x_fetch,
    x_unfetch,
};

int v_open(sqlite3_vfs*, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  File* f = as_file(file);
  f->base.pMethods = nullptr;
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + kRealOffset);
  f->real->pMethods = nullptr;
  f->after_commit_header = false;
  f->gathered_at = 0;
  f->run_end = 0;
  f->gathered = nullptr;
  f->wal_path = nullptr;
  const int rc = g_root->xOpen(g_root, name, f->real, flags, out_flags);
  // Opened, even if it reports a failure: SQLite calls xClose when pMethods is set.
  if (!f->real->pMethods) return rc;
  try {
    if (flags & SQLITE_OPEN_WAL) {
      f->gathered = new std::string;
      if (name) {
        std::lock_guard lock(g_wal_files_mutex);
        g_wal_files.emplace(name, f);
      }
    } else if ((flags & SQLITE_OPEN_MAIN_DB) && name) {
      f->wal_path = new std::string(std::string(name) + "-wal");
    }
  } catch (const std::bad_alloc&) {
    delete f->gathered;
    f->gathered = nullptr;
    f->real->pMethods->xClose(f->real);
    return SQLITE_NOMEM;
  }
  f->base.pMethods = &kMethods;
  return rc;
}

int v_delete(sqlite3_vfs*, const char* name, int sync_dir) { return g_root->xDelete(g_root, name, sync_dir); }
int v_access(sqlite3_vfs*, const char* name, int flags, int* out) { return g_root->xAccess(g_root, name, flags, out); }
int v_full_pathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return g_root->xFullPathname(g_root, name, n, out);
}
void* v_dl_open(sqlite3_vfs*, const char* name) { return g_root->xDlOpen(g_root, name); }
void v_dl_error(sqlite3_vfs*, int n, char* out) { g_root->xDlError(g_root, n, out); }
void (*v_dl_sym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
  return g_root->xDlSym(g_root, handle, symbol);
}
void v_dl_close(sqlite3_vfs*, void* handle) { g_root->xDlClose(g_root, handle); }
int v_randomness(sqlite3_vfs*, int n, char* out) { return g_root->xRandomness(g_root, n, out); }
int v_sleep(sqlite3_vfs*, int microseconds) { return g_root->xSleep(g_root, microseconds); }
int v_current_time(sqlite3_vfs*, double* out) { return g_root->xCurrentTime(g_root, out); }
int v_get_last_error(sqlite3_vfs*, int n, char* out) { return g_root->xGetLastError(g_root, n, out); }
int v_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) { return g_root->xCurrentTimeInt64(g_root, out); }
int v_set_system_call(sqlite3_vfs*, const char* name, sqlite3_syscall_ptr p) {
  return g_root->xSetSystemCall(g_root, name, p);
}
sqlite3_syscall_ptr v_get_system_call(sqlite3_vfs*, const char* name) { return g_root->xGetSystemCall(g_root, name); }
const char* v_next_system_call(sqlite3_vfs*, const char* name) { return g_root->xNextSystemCall(g_root, name); }

sqlite3_vfs g_vfs;

}  // namespace

void install_wal_write_gathering() {
  static const bool installed = [] {
    g_root = sqlite3_vfs_find(nullptr);
    if (!g_root || g_root->iVersion < 1) return false;
    g_vfs.iVersion = g_root->iVersion < 3 ? g_root->iVersion : 3;
    g_vfs.szOsFile = static_cast<int>(kRealOffset) + g_root->szOsFile;
    g_vfs.mxPathname = g_root->mxPathname;
    g_vfs.zName = "oneapi-wal-gather";
    g_vfs.xOpen = v_open;
    g_vfs.xDelete = v_delete;
    g_vfs.xAccess = v_access;
    g_vfs.xFullPathname = v_full_pathname;
    g_vfs.xDlOpen = v_dl_open;
    g_vfs.xDlError = v_dl_error;
    g_vfs.xDlSym = v_dl_sym;
    g_vfs.xDlClose = v_dl_close;
    g_vfs.xRandomness = v_randomness;
    g_vfs.xSleep = v_sleep;
    g_vfs.xCurrentTime = v_current_time;
    g_vfs.xGetLastError = v_get_last_error;
    if (g_vfs.iVersion >= 2) g_vfs.xCurrentTimeInt64 = v_current_time_int64;
    if (g_vfs.iVersion >= 3) {
      g_vfs.xSetSystemCall = v_set_system_call;
      g_vfs.xGetSystemCall = v_get_system_call;
      g_vfs.xNextSystemCall = v_next_system_call;
    }
    return sqlite3_vfs_register(&g_vfs, 1) == SQLITE_OK;
  }();
  (void)installed;
}

WalWriteCounts wal_write_counts() {
  return WalWriteCounts{g_asked.load(std::memory_order_relaxed), g_issued.load(std::memory_order_relaxed)};
}

}  // namespace oneapi::store::sqlite
