/*
 * foliolab kernel-probe runner: performs a scenario's ops on the real kernel.
 *
 * Built by @foliolab/kernel-probe with the system C compiler on first use. It reads a simple
 * line-based program on stdin (written by the TypeScript side, which parses the scenario JSON)
 * and prints line-based results on stdout. No JSON here.
 *
 *   probe run <workdir> <lockfile> <journal>   run a program (see PROTOCOL below)
 *   probe scan <pid> <start-hex> <end-hex>      print PMD-mapped ranges (PAGEMAP_SCAN PAGE_IS_HUGE)
 *   probe version
 *
 * PROTOCOL (stdin). Header lines, then "go", then one command per line:
 *   procs <n>                      number of scenario processes (main + forks)
 *   knob <hugepages-NkB> <policy>  wanted value of /sys/kernel/mm/transparent_hugepage/<dir>/enabled
 *   swap <bytes>                   a swap file of that size for the run (swapon; swapoff and removed after)
 *   sknob <hugepages-NkB> <policy> wanted value of .../<dir>/shmem_enabled
 *   go
 *   <op> <proc> mmap <slot> <size> <align> <a|p|s|m> <locked> [<name>]   (m: MAP_SHARED|MAP_ANONYMOUS;
 *                                  name: the scenario's named file <workdir>/n-<name>, opened or
 *                                  created, kept linked until the run's directory goes)
 *   <op> <proc> madv <slot> <off> <len> <stride> <advice>   (stride 0 = one range)
 *   <op> <proc> write <slot> <off> <len> <stride> <value>
 *   <op> <proc> read <slot> <off> <len> <stride>
 *   <op> <proc> munmap <slot> <off> <len> <stride>
 *   <op> <proc> mprotect <slot> <off> <len> <prot r|rw|none>
 *   <op> <proc> mremap <slot> <off> <len> <newslot>
 *   <op> <proc> pin <slot> <off> <len>
 *   <op> <proc> unpin <slot> <off> <len>
 *   <op> <proc> reclaim                     (memory.force_empty of the scenario's memory cgroup)
 *   <op> <proc> load <slot> <off>
 *   <op> <proc> status
 *   <op> <proc> fork <newproc>
 *   <op> <proc> exit <pid>
 *   quit
 *
 * Output (stdout), one line each:
 *   K <dir>[/shmem_enabled] <original> <wanted> <ok|same|absent|err:...>
 *   W <warning>
 *   READY <main-pid>
 *   R <op> ok <ns> <syscalls> [<extra>]      ns: wall time around the syscalls (or the access loop)
 *   R <op> err <message>
 *   S <op> <proc> <RssAnon> <RssFile> <VmSwap> <AnonHugePages> <RssShmem>   (kB, -1 when unreadable)
 *   V <op> <loaded|unmapped|fault> <value>
 *   T <proc> <ns>                            what two back-to-back clock reads cost that proc, taken off its op times
 *   E <fatal error>
 *   BYE
 *
 * Every process is a real process: the controller (this program's first process) forks "main"
 * and routes command lines to each scenario process over its own pipe; `fork` forks the
 * addressed process. The controller writes the mTHP knobs, records the originals first (also in a
 * journal file, so an interrupted run is repaired by the next one) and restores them on every exit
 * path: end of program, EOF on stdin, SIGINT/SIGTERM/SIGHUP, fatal errors.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_COLD
#define MADV_COLD 20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

/* PAGEMAP_SCAN (Linux 6.7), declared here because older libc headers lack it. */
#define PM_PAGE_IS_PRESENT (1ULL << 3)
#define PM_PAGE_IS_HUGE (1ULL << 6)
struct pm_page_region {
  uint64_t start, end, categories;
};
struct pm_scan_arg {
  uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages, category_inverted, category_mask,
      category_anyof_mask, return_mask;
};
#define PM_PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)

#define THP_DIR "/sys/kernel/mm/transparent_hugepage"
#define MAXP 64
#define MAXSLOT 256
#define MAXPIN 64
#define MAXKNOB 24
#define PG 4096UL
#define PMD_SZ (2UL << 20)

static char outbuf[8192];

static void out(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(outbuf, sizeof outbuf - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (n > (int)sizeof outbuf - 2) n = sizeof outbuf - 2;
  outbuf[n++] = '\n';
  ssize_t w = write(1, outbuf, n);
  (void)w;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* The clock of ops timed inside one proc: CLOCK_MONOTONIC (wall), or with
 * FOLIOLAB_PROBE_CLOCK=cpu the thread's CPU time (user + system, the scheduler's
 * sum_exec_runtime), which leaves out the time other tasks ran on the CPU. exit is timed
 * across procs: on the cpu clock from the proc's last reading to the sum_exec_runtime its
 * zombie reports in /proc/<pid>/schedstat (do_exit() -> exit_mm() -> exit_mmap() runs before
 * exit_notify(), so the teardown is all in it); on the wall clock to the pidfd's POLLIN. */
static clockid_t op_clock = CLOCK_MONOTONIC;

static uint64_t op_ns(void) {
  struct timespec ts;
  clock_gettime(op_clock, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * What two clock reads with nothing between them measure: the end of the first read and the
 * start of the second, which every op's t1 - t0 holds too. CLOCK_THREAD_CPUTIME_ID is a real
 * syscall (no vDSO), 0.6 us in a PVM guest, which would otherwise count in every timed syscall
 * (a 4K MADV_DONTNEED takes a few us). Measured by each proc at its start (median of 63 pairs)
 * and taken off every op time it reports.
 */
static uint64_t clock_cost;

static void measure_clock_cost(void) {
  uint64_t d[63];
  for (int i = 0; i < 63; i++) {
    uint64_t a = op_ns();
    uint64_t b = op_ns();
    d[i] = b - a;
  }
  for (int i = 1; i < 63; i++) /* insertion sort: 63 values */
    for (int j = i; j > 0 && d[j - 1] > d[j]; j--) {
      uint64_t t = d[j];
      d[j] = d[j - 1];
      d[j - 1] = t;
    }
  clock_cost = d[31];
}

/* An op's time between two clock reads, without the reads' own cost. */
static uint64_t op_span(uint64_t t0, uint64_t t1) {
  uint64_t d = t1 - t0;
  return d > clock_cost ? d - clock_cost : 0;
}

/* ---------- line reader over a file descriptor (no stdio, no malloc) ---------- */
struct reader {
  int fd;
  char buf[65536];
  size_t len, pos;
};

/* Returns a NUL-terminated line (without '\n') or NULL at EOF. */
static char *read_line(struct reader *r) {
  for (;;) {
    char *nl = memchr(r->buf + r->pos, '\n', r->len - r->pos);
    if (nl) {
      *nl = 0;
      char *line = r->buf + r->pos;
      r->pos = nl - r->buf + 1;
      return line;
    }
    if (r->pos > 0) {
      memmove(r->buf, r->buf + r->pos, r->len - r->pos);
      r->len -= r->pos;
      r->pos = 0;
    }
    if (r->len >= sizeof r->buf - 1) r->len = 0; /* overlong line: drop */
    ssize_t n = read(r->fd, r->buf + r->len, sizeof r->buf - 1 - r->len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return NULL;
    r->len += n;
  }
}

static int split(char *line, char **argv, int max) {
  int n = 0;
  char *save = NULL;
  for (char *t = strtok_r(line, " \t", &save); t && n < max; t = strtok_r(NULL, " \t", &save)) argv[n++] = t;
  return n;
}

static uint64_t num(const char *s) { return strtoull(s, NULL, 0); }

/* ---------- mTHP knobs: apply, journal, restore ---------- */
struct knob {
  char dir[64];
  char file[16]; /* "enabled" or "shmem_enabled" */
  char path[160];
  char orig[16];
  char want[16];
  int changed;
};
static struct knob knobs[MAXKNOB];
static int nknobs;
static char journal_path[512];
static volatile sig_atomic_t restored;

static int valid_dir(const char *d) {
  return strncmp(d, "hugepages-", 10) == 0 && !strchr(d, '/') && strlen(d) < 40;
}

static int write_str(const char *path, const char *val) {
  int fd = open(path, O_WRONLY);
  if (fd < 0) return -errno;
  ssize_t n = write(fd, val, strlen(val));
  int e = errno;
  close(fd);
  return n < 0 ? -e : 0;
}

/* Reads "always inherit [madvise] never" and returns the bracketed word. */
static int read_policy(const char *path, char *dst, size_t cap) {
  char buf[128];
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -errno;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -EIO;
  buf[n] = 0;
  char *a = strchr(buf, '['), *b = a ? strchr(a, ']') : NULL;
  if (!a || !b || (size_t)(b - a - 1) >= cap) return -EINVAL;
  memcpy(dst, a + 1, b - a - 1);
  dst[b - a - 1] = 0;
  return 0;
}

static char workdir[400];

/* The run's swap file (header "swap <bytes>"), when this machine had no swap of its own. */
static uint64_t swap_bytes;
static char swap_path[512];
static volatile sig_atomic_t swap_active;

/* Async-signal-safe: swapoff/unlink only. swapoff reads back whatever is still swapped out. */
static void restore_swap(void) {
  if (swap_active) {
    swapoff(swap_path);
    swap_active = 0;
  }
  if (swap_path[0]) unlink(swap_path);
}

/* Async-signal-safe: open/write/close/unlink only. The journal goes once knobs and swap are back. */
static void restore_knobs(void) {
  if (restored) return;
  restored = 1;
  for (int i = 0; i < nknobs; i++)
    if (knobs[i].changed) write_str(knobs[i].path, knobs[i].orig);
  if (!swap_path[0] && journal_path[0]) unlink(journal_path);
}

static void remove_memcg(void);

static void restore_all(void) {
  restore_knobs();
  restore_swap();
  remove_memcg();
  if (journal_path[0]) unlink(journal_path);
}

/* Does /proc/swaps list any swap area? */
static int machine_has_swap(void) {
  char buf[4096];
  int fd = open("/proc/swaps", O_RDONLY);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  char *nl = strchr(buf, '\n');
  return nl && nl[1] != 0;
}

/*
 * A swap file of swap_bytes in the work directory: fallocate (no holes, as swapon wants), a
 * version-1 swap header (mkswap's: last_page at 1024 + 4, "SWAPSPACE2" at the end of page 0),
 * then swapon. Every problem becomes a W line and the run goes on without swap.
 */
static void setup_swap(void) {
  if (swap_bytes < 16 * PG) return;
  if (machine_has_swap()) {
    out("W this machine has swap configured already: the scenario uses it as it is (no swap file of %llu bytes made)",
        (unsigned long long)swap_bytes);
    return;
  }
  snprintf(swap_path, sizeof swap_path, "%s/swapfile", workdir);
  int fd = open(swap_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    out("W cannot create the swap file %s: %s", swap_path, strerror(errno));
    swap_path[0] = 0;
    return;
  }
  uint64_t pages = swap_bytes / PG;
  int e = 0;
  if (fallocate(fd, 0, 0, (off_t)(pages * PG)) < 0) e = errno;
  static unsigned char hdr[PG];
  memset(hdr, 0, sizeof hdr);
  uint32_t info[3] = {1, (uint32_t)(pages - 1), 0}; /* version, last_page, nr_badpages */
  memcpy(hdr + 1024, info, sizeof info);
  memcpy(hdr + PG - 10, "SWAPSPACE2", 10);
  if (!e && pwrite(fd, hdr, PG, 0) != (ssize_t)PG) e = errno ? errno : EIO;
  if (!e && fsync(fd) < 0) e = errno;
  close(fd);
  if (e) {
    out("W cannot prepare the swap file %s (%llu bytes): %s", swap_path, (unsigned long long)swap_bytes, strerror(e));
    unlink(swap_path);
    swap_path[0] = 0;
    return;
  }
  /* Journal first, so a SIGKILL between swapon and the end is repaired by the next run. */
  int jfd = open(journal_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (jfd >= 0) {
    char line[600];
    int n = snprintf(line, sizeof line, "swapfile %s\n", swap_path);
    ssize_t w = write(jfd, line, n);
    (void)w;
    fsync(jfd);
    close(jfd);
  }
  if (swapon(swap_path, 0) < 0) {
    out("W swapon %s failed: %s (the run goes on without swap)", swap_path, strerror(errno));
    unlink(swap_path);
    swap_path[0] = 0;
    return;
  }
  swap_active = 1;
  out("W swap: a swap file of %llu kB was enabled for this run (swapoff and removed after it)",
      (unsigned long long)(pages * PG / 1024));
}

/*
 * The scenario's memory cgroup, for the `reclaim` op: memory pressure the kernel can be asked
 * for. A v1 memory cgroup of its own (this machine's memory controller is v1, which has no
 * memory.reclaim), memory.swappiness 0 so its reclaim scans only the file LRU (get_scan_count():
 * cgroup reclaim with swappiness 0 is SCAN_FILE), which holds lazyfree folios and page cache;
 * main joins it before it touches memory and every proc forked from main inherits it. The reclaim
 * writes memory.force_empty: lru_add_drain_all(), then try_to_free_mem_cgroup_pages() until
 * nothing more comes free (the deferred split shrinker runs inside it).
 */
#define MEMCG_ROOT "/sys/fs/cgroup/memory"
static char memcg_dir[256];
static char memcg_problem[640];

static void remove_memcg(void) {
  if (memcg_dir[0] && rmdir(memcg_dir) == 0) memcg_dir[0] = 0;
}

static void setup_memcg(void) {
  struct stat st;
  char path[320];
  /* FOLIOLAB_PROBE_MEMCG_ROOT: another mount point of the v1 memory controller (tests). */
  const char *root = getenv("FOLIOLAB_PROBE_MEMCG_ROOT");
  if (!root || !root[0]) root = MEMCG_ROOT;
  snprintf(path, sizeof path, "%s/memory.force_empty", root);
  if (stat(path, &st) < 0) {
    snprintf(memcg_problem, sizeof memcg_problem,
             "reclaim needs a v1 memory cgroup (no %s on this machine)", path);
    return;
  }
  /* Groups of earlier runs that were killed: empty ones are removed (rmdir fails on a busy one). */
  DIR *d = opendir(root);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (strncmp(e->d_name, "foliolab-probe-", 15)) continue;
      snprintf(path, sizeof path, "%s/%s", root, e->d_name);
      rmdir(path);
    }
    closedir(d);
  }
  snprintf(memcg_dir, sizeof memcg_dir, "%s/foliolab-probe-%d", root, (int)getpid());
  if (mkdir(memcg_dir, 0755) < 0) {
    snprintf(memcg_problem, sizeof memcg_problem, "reclaim: cannot create the memory cgroup %s: %s", memcg_dir,
             strerror(errno));
    memcg_dir[0] = 0;
    return;
  }
  snprintf(path, sizeof path, "%s/memory.swappiness", memcg_dir);
  int r = write_str(path, "0");
  if (r < 0) {
    snprintf(memcg_problem, sizeof memcg_problem, "reclaim: cannot set %s to 0: %s", path, strerror(-r));
    remove_memcg();
    memcg_dir[0] = 0;
  }
}

/*
 * main and every proc forked from it run on one CPU, as the model does (it has one CPU and one
 * set of per-CPU folio batches). A proc that wakes on another CPU for its next op leaves up to
 * PAGEVEC_SIZE folios of its faults in the first CPU's lru_add batch, off the LRU, and
 * madvise_free_pte_range() then skips them (folio_batch_add_and_move(): !folio_test_clear_lru()):
 * measured once under a loaded CI run as pglazyfree 2045 of 2048. The CPU is the last one the
 * runner may use (FOLIOLAB_PROBE_CPU picks another).
 */
/* The CPU main runs on: FOLIOLAB_PROBE_CPU, else the last one this process may use (-1: none). */
static int probe_cpu(void) {
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) < 0) return -1;
  int cpu = -1;
  const char *want = getenv("FOLIOLAB_PROBE_CPU");
  if (want && want[0]) cpu = atoi(want);
  else
    for (int c = CPU_SETSIZE - 1; c >= 0 && cpu < 0; c--)
      if (CPU_ISSET(c, &allowed)) cpu = c;
  if (cpu < 0 || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &allowed)) return -1;
  return cpu;
}

static void pin_cpu(void) {
  int cpu = probe_cpu();
  if (cpu < 0) return;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  sched_setaffinity(0, sizeof one, &one);
}

/* main: join the scenario's memory cgroup (before it touches its memory). */
static void join_memcg(void) {
  if (!memcg_dir[0]) return;
  char path[320], pid[32];
  snprintf(path, sizeof path, "%s/cgroup.procs", memcg_dir);
  snprintf(pid, sizeof pid, "%d", (int)getpid());
  int r = write_str(path, pid);
  if (r < 0)
    snprintf(memcg_problem, sizeof memcg_problem, "reclaim: cannot join the memory cgroup %s: %s", memcg_dir,
             strerror(-r));
}

/* A journal left by an interrupted run (e.g. SIGKILL) holds the settings to put back. */
static void recover_journal(void) {
  int fd = open(journal_path, O_RDONLY);
  if (fd < 0) return;
  static char buf[4096];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n > 0) {
    buf[n] = 0;
    char *save = NULL;
    for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
      char dir[64], val[16], path[160], file[16] = "enabled", sw[512];
      if (sscanf(l, "swapfile %511s", sw) == 1) {
        if (swapoff(sw) == 0) out("W swapped off %s, the swap file of an interrupted earlier run", sw);
        unlink(sw);
        continue;
      }
      int got = sscanf(l, "%63s %15s %15s", dir, val, file);
      if (got < 2 || !valid_dir(dir)) continue;
      if (strcmp(file, "enabled") && strcmp(file, "shmem_enabled")) continue;
      if (strcmp(val, "always") && strcmp(val, "inherit") && strcmp(val, "madvise") && strcmp(val, "never") &&
          strcmp(val, "within_size") && strcmp(val, "advise"))
        continue;
      snprintf(path, sizeof path, THP_DIR "/%s/%s", dir, file);
      write_str(path, val);
      out("W restored %s/%s=%s from the journal of an interrupted earlier run", dir, file, val);
    }
  }
  unlink(journal_path);
}

static void apply_knobs(void) {
  char jbuf[2048];
  size_t jl = 0;
  int any = 0;
  for (int i = 0; i < nknobs; i++) {
    struct knob *k = &knobs[i];
    snprintf(k->path, sizeof k->path, THP_DIR "/%s/%s", k->dir, k->file);
    int r = read_policy(k->path, k->orig, sizeof k->orig);
    if (r < 0) {
      strcpy(k->orig, "-");
      continue;
    }
    if (strcmp(k->orig, k->want) != 0) {
      any = 1;
      jl += snprintf(jbuf + jl, sizeof jbuf - jl, "%s %s %s\n", k->dir, k->orig, k->file);
    }
  }
  if (any) {
    int fd = open(journal_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ssize_t w = write(fd, jbuf, jl);
      (void)w;
      fsync(fd);
      close(fd);
    } else {
      out("W cannot write the THP journal %s: %s", journal_path, strerror(errno));
    }
  }
  for (int i = 0; i < nknobs; i++) {
    struct knob *k = &knobs[i];
    char name[96];
    snprintf(name, sizeof name, "%s%s", k->dir, strcmp(k->file, "enabled") ? "/shmem_enabled" : "");
    if (strcmp(k->orig, "-") == 0) {
      out("K %s - %s absent", name, k->want);
      continue;
    }
    if (strcmp(k->orig, k->want) == 0) {
      out("K %s %s %s same", name, k->orig, k->want);
      continue;
    }
    int r = write_str(k->path, k->want);
    if (r < 0) {
      out("K %s %s %s err:%s", name, k->orig, k->want, strerror(-r));
      continue;
    }
    k->changed = 1;
    out("K %s %s %s ok", name, k->orig, k->want);
  }
  if (!any) unlink(journal_path);
  setup_swap();
}

/* ---------- processes ---------- */
static int nprocs;
static int cmd_r[MAXP], cmd_w[MAXP];
static int tpipe[2]; /* child -> controller: exit timestamps (op clock, wall) */
static int ppipe[2]; /* worker -> controller: (id, pid) records */
static int pidfds[MAXP * 2];
static int npidfds;
static pid_t main_pid;

static void kill_workers(void) {
  int rec[2];
  while (read(ppipe[0], rec, sizeof rec) == (ssize_t)sizeof rec) {
    int fd = (int)syscall(SYS_pidfd_open, rec[1], 0);
    if (fd >= 0 && npidfds < (int)(sizeof pidfds / sizeof pidfds[0])) pidfds[npidfds++] = fd;
  }
  for (int i = 0; i < npidfds; i++) syscall(SYS_pidfd_send_signal, pidfds[i], SIGKILL, NULL, 0);
}

static void on_signal(int sig) {
  restore_knobs();
  kill_workers();
  restore_all();
  signal(sig, SIG_DFL);
  raise(sig);
}

/* ---------- worker state ---------- */
struct slot {
  char *base;
  size_t size, align, fileoff;
  int fd; /* file kinds: the (unlinked) file, for reading page-cache content */
  int kind;
};
struct pin {
  int used, slot, ring;
  size_t off, len;
};
static int my_id;
static struct slot slots[MAXSLOT];
static struct pin pins[MAXPIN];
static sigjmp_buf fault_jmp;
static volatile sig_atomic_t guarded;
static volatile void *fault_addr;

static void on_fault(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  if (!guarded) {
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  fault_addr = si->si_addr;
  siglongjmp(fault_jmp, sig);
}

static void status_line(const char *op) {
  static char buf[16384];
  long v[5] = {-1, -1, -1, -1, -1};
  const char *names[5] = {"RssAnon:", "RssFile:", "VmSwap:", "AnonHugePages:", "RssShmem:"};
  const char *files[2] = {"/proc/self/status", "/proc/self/smaps_rollup"};
  for (int f = 0; f < 2; f++) {
    int fd = open(files[f], O_RDONLY);
    if (fd < 0) continue;
    ssize_t n = 0, r;
    while ((r = read(fd, buf + n, sizeof buf - 1 - n)) > 0) n += r;
    close(fd);
    buf[n] = 0;
    for (int i = 0; i < 5; i++) {
      if ((i == 3) != (f == 1)) continue; /* AnonHugePages from smaps_rollup, the rest from status */
      char *p = strstr(buf, names[i]);
      if (p) v[i] = strtol(p + strlen(names[i]), NULL, 10);
    }
  }
  out("S %s %d %ld %ld %ld %ld %ld", op, my_id, v[0], v[1], v[2], v[3], v[4]);
}

static int madv_code(const char *s) {
  if (!strcmp(s, "hugepage")) return MADV_HUGEPAGE;
  if (!strcmp(s, "nohugepage")) return MADV_NOHUGEPAGE;
  if (!strcmp(s, "dontneed")) return MADV_DONTNEED;
  if (!strcmp(s, "free")) return MADV_FREE;
  if (!strcmp(s, "cold")) return MADV_COLD;
  if (!strcmp(s, "pageout")) return MADV_PAGEOUT;
  if (!strcmp(s, "dontfork")) return MADV_DONTFORK;
  if (!strcmp(s, "dofork")) return MADV_DOFORK;
  if (!strcmp(s, "random")) return MADV_RANDOM;
  if (!strcmp(s, "normal")) return MADV_NORMAL;
  return -1;
}

static struct slot *get_slot(const char *s, const char *op) {
  uint64_t i = num(s);
  if (i >= MAXSLOT || !slots[i].base) {
    out("R %s err unknown slot %s", op, s);
    return NULL;
  }
  return &slots[i];
}

/* Strided ranges: [off + k*stride, +len) while inside the mapping; stride 0 = one range. */
#define FOR_RANGES(sl, off, len, stride, start)                                             \
  for (size_t start = (off); start + (len) <= (sl)->size && (len) > 0;                    \
       start = (stride) ? start + (stride) : (sl)->size)

static void do_mmap(const char *op, char **a, int n) {
  if (n < 5) return (void)out("R %s err bad mmap", op);
  uint64_t i = num(a[0]);
  size_t size = num(a[1]), align = num(a[2]);
  char kind = a[3][0];
  int locked = (int)num(a[4]);
  if (i >= MAXSLOT) return (void)out("R %s err too many mappings", op);
  if (align < PG) align = PG;
  int fd = -1, flags = MAP_PRIVATE;
  if (kind == 'm') {
    flags = MAP_SHARED | MAP_ANONYMOUS;
  } else if (kind != 'a') {
    char path[512];
    struct stat st;
    if (n >= 6) {
      /* A named file: every mmap of the name, from any process, opens the same linked file. */
      snprintf(path, sizeof path, "%s/n-%s", workdir, a[5]);
      fd = open(path, O_RDWR | O_CREAT, 0600);
      if (fd < 0) return (void)out("R %s err open %s: %s", op, path, strerror(errno));
      if (fstat(fd, &st) < 0) return (void)out("R %s err fstat %s: %s", op, path, strerror(errno));
      if ((size_t)st.st_size < size && ftruncate(fd, size) < 0)
        return (void)out("R %s err ftruncate: %s", op, strerror(errno));
    } else {
      snprintf(path, sizeof path, "%s/f%s-%d", workdir, op, my_id);
      fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
      if (fd < 0) return (void)out("R %s err create %s: %s", op, path, strerror(errno));
      unlink(path);
      if (ftruncate(fd, size) < 0) return (void)out("R %s err ftruncate: %s", op, strerror(errno));
    }
    if (kind == 's') flags = MAP_SHARED;
  } else {
    flags |= MAP_ANONYMOUS;
  }
  char *want = NULL;
  if (align > PG) {
    char *r = mmap(NULL, size + align, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (r == MAP_FAILED) return (void)out("R %s err reserve: %s", op, strerror(errno));
    want = (char *)(((uintptr_t)r + align - 1) & ~(uintptr_t)(align - 1));
    if (want > r) munmap(r, want - r);
    if (r + size + align > want + size) munmap(want + size, r + size + align - (want + size));
    flags |= MAP_FIXED;
  }
  uint64_t t0 = op_ns();
  char *p = mmap(want, size, PROT_READ | PROT_WRITE, flags, fd, 0);
  int e = errno;
  if (p != MAP_FAILED && locked && mlock(p, size) < 0) e = errno, locked = -1;
  uint64_t t1 = op_ns();
  if (p == MAP_FAILED) return (void)out("R %s err mmap: %s", op, strerror(e));
  if (locked < 0) out("W op %s: mlock failed: %s", op, strerror(e));
  slots[i] = (struct slot){p, size, align, 0, fd, kind};
  out("R %s ok %llu %d 0x%lx", op, (unsigned long long)op_span(t0, t1), locked > 0 ? 2 : 1, (unsigned long)p);
}

static void do_range_syscall(const char *op, const char *what, char **a, int n) {
  if (n < 4) return (void)out("R %s err bad %s", op, what);
  struct slot *sl = get_slot(a[0], op);
  if (!sl) return;
  size_t off = num(a[1]), len = num(a[2]), stride = num(a[3]);
  int adv = 0;
  if (!strcmp(what, "madv")) {
    if (n < 5 || (adv = madv_code(a[4])) < 0) return (void)out("R %s err bad advice", op);
  }
  uint64_t total = 0;
  long calls = 0;
  FOR_RANGES(sl, off, len, stride, s) {
    uint64_t t0 = op_ns();
    int r = !strcmp(what, "madv") ? madvise(sl->base + s, len, adv) : munmap(sl->base + s, len);
    uint64_t t1 = op_ns();
    total += op_span(t0, t1);
    calls++;
    if (r < 0) return (void)out("R %s err %s at offset %zu: %s", op, what, s, strerror(errno));
  }
  out("R %s ok %llu %ld", op, (unsigned long long)total, calls);
}

static void do_access(const char *op, int write_, char **a, int n) {
  if (n < (write_ ? 5 : 4)) return (void)out("R %s err bad access", op);
  struct slot *sl = get_slot(a[0], op);
  if (!sl) return;
  size_t off = num(a[1]), len = num(a[2]), stride = num(a[3]);
  uint32_t value = write_ ? (uint32_t)num(a[4]) : 0;
  volatile uint32_t sink = 0;
  volatile size_t pages = 0;
  volatile size_t at = 0;
  int sig;
  uint64_t t0 = op_ns();
  guarded = 1;
  if ((sig = sigsetjmp(fault_jmp, 1)) != 0) {
    guarded = 0;
    return (void)out("R %s err %s at offset %zu (%s)", op, sig == SIGBUS ? "SIGBUS" : "SIGSEGV", (size_t)at,
                     write_ ? "write" : "read");
  }
  FOR_RANGES(sl, off, len, stride, s) {
    for (size_t p = s; p < s + len; p += PG) {
      at = p;
      volatile uint32_t *w = (volatile uint32_t *)(sl->base + p);
      if (write_)
        *w = value;
      else
        sink += *w;
      pages++;
    }
  }
  guarded = 0;
  uint64_t t1 = op_ns();
  (void)sink;
  out("R %s ok %llu %zu", op, (unsigned long long)op_span(t0, t1), (size_t)pages);
}

static void do_mprotect(const char *op, char **a, int n) {
  if (n < 4) return (void)out("R %s err bad mprotect", op);
  struct slot *sl = get_slot(a[0], op);
  if (!sl) return;
  size_t off = num(a[1]), len = num(a[2]);
  int prot = !strcmp(a[3], "rw") ? PROT_READ | PROT_WRITE : !strcmp(a[3], "r") ? PROT_READ : PROT_NONE;
  uint64_t t0 = op_ns();
  int r = mprotect(sl->base + off, len, prot);
  uint64_t t1 = op_ns();
  if (r < 0) return (void)out("R %s err mprotect: %s", op, strerror(errno));
  out("R %s ok %llu 1", op, (unsigned long long)op_span(t0, t1));
}

static void do_mremap(const char *op, char **a, int n) {
  if (n < 4) return (void)out("R %s err bad mremap", op);
  struct slot *sl = get_slot(a[0], op);
  if (!sl) return;
  size_t off = num(a[1]), len = num(a[2]);
  uint64_t ni = num(a[3]);
  if (ni >= MAXSLOT) return (void)out("R %s err too many mappings", op);
  /* The new range keeps the old one's offset inside its PMD (as the model's mremapPlacement()
   * does), so whole PMDs move as PMDs and mTHP-aligned ranges stay aligned. */
  size_t align = sl->align > PMD_SZ ? sl->align : PMD_SZ;
  uintptr_t in_pmd = ((uintptr_t)sl->base + off) & (PMD_SZ - 1);
  size_t span = len + align + PMD_SZ;
  char *r = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (r == MAP_FAILED) return (void)out("R %s err reserve: %s", op, strerror(errno));
  char *dst = (char *)((((uintptr_t)r + align - 1) & ~(uintptr_t)(align - 1)) + in_pmd);
  if (dst > r) munmap(r, dst - r);
  if (r + span > dst + len) munmap(dst + len, r + span - (dst + len));
  uint64_t t0 = op_ns();
  char *p = mremap(sl->base + off, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
  uint64_t t1 = op_ns();
  if (p == MAP_FAILED) {
    int e = errno;
    munmap(dst, len);
    return (void)out("R %s err mremap: %s", op, strerror(e));
  }
  int fd = sl->fd >= 0 ? dup(sl->fd) : -1;
  slots[ni] = (struct slot){p, len, align, sl->fileoff + off, fd, sl->kind};
  out("R %s ok %llu 1 0x%lx", op, (unsigned long long)op_span(t0, t1), (unsigned long)p);
}

/* Long-term pin (FOLL_LONGTERM) of a range: io_uring fixed buffers, one ring per pin. */
static void do_pin(const char *op, char **a, int n, int pin) {
  if (n < 3) return (void)out("R %s err bad pin", op);
  uint64_t si = num(a[0]);
  struct slot *sl = get_slot(a[0], op);
  if (!sl) return;
  size_t off = num(a[1]), len = num(a[2]);
  uint64_t t0, t1;
  if (pin) {
    int k;
    for (k = 0; k < MAXPIN && pins[k].used; k++) {
    }
    if (k == MAXPIN) return (void)out("R %s err too many pins", op);
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    int ring = (int)syscall(SYS_io_uring_setup, 1, &p);
    if (ring < 0) return (void)out("R %s err io_uring_setup: %s", op, strerror(errno));
    struct iovec iov = {sl->base + off, len};
    t0 = op_ns();
    long r = syscall(SYS_io_uring_register, ring, IORING_REGISTER_BUFFERS, &iov, 1);
    t1 = op_ns();
    if (r < 0) {
      int e = errno;
      close(ring);
      return (void)out("R %s err io_uring_register: %s", op, strerror(e));
    }
    pins[k] = (struct pin){1, (int)si, ring, off, len};
    return (void)out("R %s ok %llu 1", op, (unsigned long long)op_span(t0, t1));
  }
  uint64_t total = 0;
  int calls = 0;
  for (int k = 0; k < MAXPIN; k++) {
    struct pin *pp = &pins[k];
    if (!pp->used || pp->slot != (int)si || pp->off >= off + len || off >= pp->off + pp->len) continue;
    t0 = op_ns();
    syscall(SYS_io_uring_register, pp->ring, IORING_UNREGISTER_BUFFERS, NULL, 0);
    t1 = op_ns();
    close(pp->ring);
    pp->used = 0;
    total += op_span(t0, t1);
    calls++;
  }
  if (!calls) return (void)out("R %s err no pin overlaps that range", op);
  out("R %s ok %llu %d", op, (unsigned long long)total, calls);
}

static void do_reclaim(const char *op) {
  if (memcg_problem[0]) return (void)out("R %s err %s", op, memcg_problem);
  if (!memcg_dir[0]) return (void)out("R %s err reclaim: no memory cgroup", op);
  char path[320];
  snprintf(path, sizeof path, "%s/memory.force_empty", memcg_dir);
  uint64_t t0 = op_ns();
  int r = write_str(path, "0");
  uint64_t t1 = op_ns();
  if (r < 0) return (void)out("R %s err reclaim: writing %s: %s", op, path, strerror(-r));
  out("R %s ok %llu 1", op, (unsigned long long)op_span(t0, t1));
}

/*
 * expect {value}: a load of the tag at a page, as `read` does it (it faults: swap-in, zero page,
 * page cache), so the scenario's counters after it are the kernel's. "unmapped" when no VMA is
 * there (mincore ENOMEM), "fault" on SIGSEGV/SIGBUS (PROT_NONE).
 */
static void do_load(const char *op, char **a, int n) {
  if (n < 2) return (void)out("R %s err bad load", op);
  struct slot *sl = get_slot(a[0], op);
  if (!sl) return;
  size_t off = num(a[1]) & ~(PG - 1);
  char *addr = sl->base + off;
  unsigned char vec;
  if (mincore(addr, PG, &vec) < 0 && errno == ENOMEM) {
    out("V %s unmapped 0", op);
    return (void)out("R %s ok 0 0", op);
  }
  volatile uint32_t v = 0;
  guarded = 1;
  if (sigsetjmp(fault_jmp, 1) != 0) {
    guarded = 0;
    out("V %s fault 0", op);
    return (void)out("R %s ok 0 0", op);
  }
  v = *(volatile uint32_t *)addr;
  guarded = 0;
  out("V %s loaded %u", op, (unsigned)v);
  out("R %s ok 0 0", op);
}

/*
 * Fork does not copy the PTEs of file mappings without anon pages, so a new child would fault the
 * runner's own code back in bit by bit and its RssFile would drift. Populate the runner's own file
 * mappings (not the scenario's files) so every proc starts from the same footprint as main. By
 * reading one byte per page, not MADV_POPULATE_READ: that drains this CPU's folio batches
 * (measured), so the parent's pending lazyfree folios were counted in pglazyfree at a fork, which a
 * fork does not do. Pages past the file's end are left alone (a read there is SIGBUS).
 */
static void populate_self(void) {
  static char buf[65536];
  int fd = open("/proc/self/maps", O_RDONLY);
  if (fd < 0) return;
  ssize_t n = 0, r;
  while (n < (ssize_t)sizeof buf - 1 && (r = read(fd, buf + n, sizeof buf - 1 - n)) > 0) n += r;
  close(fd);
  buf[n] = 0;
  char *save = NULL;
  for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    unsigned long a, b, off;
    char perms[8];
    int pos = 0;
    if (sscanf(l, "%lx-%lx %7s %lx %*s %*s %n", &a, &b, perms, &off, &pos) < 4 || pos == 0) continue;
    const char *path = l + pos;
    if (strcmp(path, "[vdso]") == 0) { /* counted in RssFile once touched; populate cannot, a read can */
      for (unsigned long va = a; va < b; va += PG) (void)*(volatile char *)va;
      continue;
    }
    if (path[0] != '/' || strstr(path, "(deleted)") || strncmp(path, workdir, strlen(workdir)) == 0) continue;
    if (perms[0] != 'r') continue;
    struct stat st;
    if (stat(path, &st) < 0 || (unsigned long)st.st_size <= off) continue;
    unsigned long end = a + (((unsigned long)st.st_size - off + PG - 1) & ~(PG - 1));
    if (end > b) end = b;
    for (unsigned long va = a; va < end; va += PG) (void)*(volatile char *)va;
  }
}

static void worker(int id) __attribute__((noreturn));

static void do_fork(const char *op, char **a, int n) {
  if (n < 1) return (void)out("R %s err bad fork", op);
  int nid = (int)num(a[0]);
  if (nid <= 0 || nid >= nprocs) return (void)out("R %s err bad proc id", op);
  int sync[2];
  if (pipe(sync) < 0) return (void)out("R %s err pipe: %s", op, strerror(errno));
  uint64_t t0 = op_ns();
  pid_t pid = fork();
  if (pid == 0) {
    close(sync[0]);
    for (int k = 0; k < MAXPIN; k++)
      if (pins[k].used) close(pins[k].ring), pins[k].used = 0;
    populate_self();
    char c = 1;
    ssize_t w = write(sync[1], &c, 1);
    (void)w;
    close(sync[1]);
    worker(nid);
  }
  uint64_t t1 = op_ns();
  close(sync[1]);
  if (pid < 0) {
    close(sync[0]);
    return (void)out("R %s err fork: %s", op, strerror(errno));
  }
  char c;
  while (read(sync[0], &c, 1) < 0 && errno == EINTR) {
  }
  close(sync[0]);
  out("R %s ok %llu 1 %d", op, (unsigned long long)op_span(t0, t1), (int)pid);
}

/* Exited procs stay zombies until their parent's next command (or the controller, for
 * orphans it adopted as subreaper) reaps them, so the controller can read an exited proc's
 * final CPU time first. */
static void reap_children(void) {
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

/* The exited proc's sum_exec_runtime (ns), from its zombie's schedstat; 0 if unreadable. */
static uint64_t zombie_runtime_ns(pid_t pid) {
  char path[64], buf[128];
  snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  return strtoull(buf, NULL, 10);
}

static void worker(int id) {
  static struct reader rd;
  my_id = id;
  measure_clock_cost();
  out("T %d %llu", id, (unsigned long long)clock_cost);
  int rec[2] = {id, (int)getpid()};
  ssize_t w = write(ppipe[1], rec, sizeof rec);
  (void)w;
  rd.fd = cmd_r[id];
  rd.len = rd.pos = 0;
  char *line, *argv[16];
  while ((line = read_line(&rd)) != NULL) {
    reap_children();
    int argc = split(line, argv, 16);
    if (argc < 3) continue;
    const char *op = argv[0], *cmd = argv[2];
    char **a = argv + 3;
    int n = argc - 3;
    if (!strcmp(cmd, "mmap"))
      do_mmap(op, a, n);
    else if (!strcmp(cmd, "madv"))
      do_range_syscall(op, "madv", a, n);
    else if (!strcmp(cmd, "munmap"))
      do_range_syscall(op, "munmap", a, n);
    else if (!strcmp(cmd, "write"))
      do_access(op, 1, a, n);
    else if (!strcmp(cmd, "read"))
      do_access(op, 0, a, n);
    else if (!strcmp(cmd, "mprotect"))
      do_mprotect(op, a, n);
    else if (!strcmp(cmd, "mremap"))
      do_mremap(op, a, n);
    else if (!strcmp(cmd, "pin"))
      do_pin(op, a, n, 1);
    else if (!strcmp(cmd, "unpin"))
      do_pin(op, a, n, 0);
    else if (!strcmp(cmd, "reclaim"))
      do_reclaim(op);
    else if (!strcmp(cmd, "load"))
      do_load(op, a, n);
    else if (!strcmp(cmd, "status")) {
      status_line(op);
      out("R %s ok 0 0", op);
    } else if (!strcmp(cmd, "fork"))
      do_fork(op, a, n);
    else if (!strcmp(cmd, "exit")) {
      status_line(op);
      /* Release the pins now: a ring closed by the exit is torn down by io_uring's exit work
       * later, so its pinned pages (and the folios only they keep) would outlive the process
       * for a while and the counters read after the exit would depend on when it ran. The model
       * drops a process's pins with it. */
      for (int k = 0; k < MAXPIN; k++)
        if (pins[k].used) {
          syscall(SYS_io_uring_register, pins[k].ring, IORING_UNREGISTER_BUFFERS, NULL, 0);
          close(pins[k].ring);
          pins[k].used = 0;
        }
      /* the exit's time starts where this read took its time: half of a pair's cost later */
      uint64_t t0[2] = {op_ns() + clock_cost / 2, now_ns()};
      w = write(tpipe[1], t0, sizeof t0);
      _exit(0);
    } else
      out("R %s err unknown command %s", op, cmd);
  }
  _exit(0);
}

/* ---------- controller ---------- */
static int run(int argc, char **argv) {
  if (argc < 5) {
    out("E usage: probe run <workdir> <lockfile> <journal>");
    return 2;
  }
  const char *clk = getenv("FOLIOLAB_PROBE_CLOCK");
  if (clk && !strcmp(clk, "cpu")) op_clock = CLOCK_THREAD_CPUTIME_ID;
  snprintf(workdir, sizeof workdir, "%s", argv[2]);
  snprintf(journal_path, sizeof journal_path, "%s", argv[4]);
  static struct reader in;
  in.fd = 0;
  char *line, *av[16];
  while ((line = read_line(&in)) != NULL) {
    int ac = split(line, av, 16);
    if (ac == 0) continue;
    if (!strcmp(av[0], "go")) break;
    if (!strcmp(av[0], "procs") && ac > 1) nprocs = (int)num(av[1]);
    if (!strcmp(av[0], "swap") && ac > 1) swap_bytes = num(av[1]) & ~(uint64_t)(PG - 1);
    if ((!strcmp(av[0], "knob") || !strcmp(av[0], "sknob")) && ac > 2 && nknobs < MAXKNOB && valid_dir(av[1])) {
      snprintf(knobs[nknobs].dir, sizeof knobs[nknobs].dir, "%s", av[1]);
      snprintf(knobs[nknobs].file, sizeof knobs[nknobs].file, "%s", av[0][0] == 's' ? "shmem_enabled" : "enabled");
      snprintf(knobs[nknobs].want, sizeof knobs[nknobs].want, "%s", av[2]);
      nknobs++;
    }
  }
  if (!line) return 0;
  if (nprocs < 1 || nprocs > MAXP) {
    out("E procs must be 1..%d", MAXP);
    return 2;
  }
  /* Serialise probe runs: the knobs are system-wide. */
  int lk = open(argv[3], O_RDONLY | O_CREAT, 0666); /* flock works on a read-only fd */
  if (lk >= 0) fchmod(lk, 0666);                    /* best effort: let every user take it */
  if (lk < 0 || flock(lk, LOCK_EX) < 0) {
    out("E cannot lock %s: %s", argv[3], strerror(errno));
    return 2;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  recover_journal();

  for (int i = 0; i < nprocs; i++) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
      out("E pipe: %s", strerror(errno));
      restore_all();
      return 2;
    }
    cmd_r[i] = p[0];
    cmd_w[i] = p[1];
  }
  if (pipe2(tpipe, O_CLOEXEC) < 0 || pipe2(ppipe, O_CLOEXEC) < 0) {
    out("E pipe: %s", strerror(errno));
    restore_all();
    return 2;
  }
  fcntl(ppipe[0], F_SETFL, O_NONBLOCK);
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  signal(SIGCHLD, SIG_DFL); /* exited procs are zombies until reaped (reap_children()) */

  /*
   * The runner's own memory stays out of the measurement: the controller and main fault in
   * everything they map (mlockall(MCL_CURRENT), then munlockall) before the knobs change, so
   * under "always" no folio of the scenario's sizes is the runner's. Later procs fork from main,
   * and their writes to its pages are COW copies (order 0).
   */
  if (mlockall(MCL_CURRENT) == 0) munlockall();
  setup_memcg();
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) < 0) {
    out("E pipe: %s", strerror(errno));
    restore_all();
    return 2;
  }
  /*
   * main is born on its CPU: the controller pins itself there for the fork (the child inherits it)
   * and lets go after. A new mm first loaded on another CPU keeps that CPU in its mm_cpumask until
   * x86 trims it (at most once a second), and every TLB flush of main would take the
   * flush_tlb_multi() path for it: a run-to-run cost that no process of a benchmark pays.
   */
  cpu_set_t before;
  int pinned_fork = sched_getaffinity(0, sizeof before, &before) == 0;
  if (pinned_fork) pin_cpu();
  main_pid = fork();
  if (main_pid != 0 && pinned_fork) sched_setaffinity(0, sizeof before, &before);
  if (main_pid < 0) {
    out("E fork: %s", strerror(errno));
    restore_all();
    return 2;
  }
  if (main_pid == 0) {
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    for (int i = 0; i < nprocs; i++) close(cmd_w[i]);
    close(lk);
    close(0);
    stack_t ss = {.ss_sp = malloc(65536), .ss_size = 65536};
    sigaltstack(&ss, NULL);
    struct sigaction fa;
    memset(&fa, 0, sizeof fa);
    fa.sa_sigaction = on_fault;
    fa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigaction(SIGSEGV, &fa, NULL);
    sigaction(SIGBUS, &fa, NULL);
    pin_cpu();
    join_memcg();
    /* Fault in the runner's own memory now, so its footprint (the baseline) stays put. */
    if (mlockall(MCL_CURRENT) == 0) munlockall();
    close(ready[0]);
    char c = 1;
    ssize_t rw = write(ready[1], &c, 1);
    (void)rw;
    close(ready[1]);
    worker(0);
  }
  close(ready[1]);
  char rc;
  while (read(ready[0], &rc, 1) < 0 && errno == EINTR) {
  }
  close(ready[0]);
  apply_knobs();
  out("READY %d", (int)main_pid);

  while ((line = read_line(&in)) != NULL) {
    char copy[4096];
    snprintf(copy, sizeof copy, "%s\n", line);
    int ac = split(line, av, 16);
    if (ac == 0) continue;
    if (!strcmp(av[0], "quit")) break;
    if (ac < 3) continue;
    int p = (int)num(av[1]);
    if (p < 0 || p >= nprocs) {
      out("R %s err bad proc %d", av[0], p);
      continue;
    }
    if (!strcmp(av[2], "exit")) {
      pid_t pid = ac > 3 ? (pid_t)num(av[3]) : 0;
      int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
      if (pfd < 0) {
        out("R %s err pidfd_open(%d): %s", av[0], (int)pid, strerror(errno));
        continue;
      }
      ssize_t w = write(cmd_w[p], copy, strlen(copy));
      (void)w;
      uint64_t t0[2] = {0, 0};
      ssize_t r;
      while ((r = read(tpipe[0], t0, sizeof t0)) < 0 && errno == EINTR) {
      }
      struct pollfd pf = {pfd, POLLIN, 0};
      while (poll(&pf, 1, -1) < 0 && errno == EINTR) {
      }
      uint64_t wall1 = now_ns();
      uint64_t cpu1 = op_clock == CLOCK_THREAD_CPUTIME_ID ? zombie_runtime_ns(pid) : 0;
      close(pfd);
      reap_children();
      if (r != (ssize_t)sizeof t0)
        out("R %s err proc %d died before exiting cleanly", av[0], p);
      else if (cpu1 >= t0[0] && cpu1 != 0)
        out("R %s ok %llu 1 cpu", av[0], (unsigned long long)(cpu1 - t0[0]));
      else {
        if (op_clock == CLOCK_THREAD_CPUTIME_ID)
          out("W op %s: exit timed on the wall clock (no CPU time in /proc/%d/schedstat)", av[0], (int)pid);
        out("R %s ok %llu 1 wall", av[0], (unsigned long long)(wall1 - t0[1]));
      }
      continue;
    }
    ssize_t w = write(cmd_w[p], copy, strlen(copy));
    if (w < 0) out("R %s err proc %d is gone: %s", av[0], p, strerror(errno));
  }
  kill_workers();
  /* The memory cgroup can go once no proc is left in it. */
  while (waitpid(-1, NULL, 0) > 0 || errno == EINTR) {
  }
  restore_all();
  out("BYE");
  return 0;
}

static int scan(int argc, char **argv) {
  if (argc < 5) {
    out("E usage: probe scan <pid> <start-hex> <end-hex>");
    return 2;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/%s/pagemap", argv[2]);
  int fd = open(path, O_RDONLY);
  if (fd < 0) {
    out("E open %s: %s", path, strerror(errno));
    return 1;
  }
  static struct pm_page_region vec[4096];
  uint64_t start = strtoull(argv[3], NULL, 16), end = strtoull(argv[4], NULL, 16);
  while (start < end) {
    struct pm_scan_arg arg;
    memset(&arg, 0, sizeof arg);
    arg.size = sizeof arg;
    arg.start = start;
    arg.end = end;
    arg.vec = (uintptr_t)vec;
    arg.vec_len = 4096;
    arg.category_mask = PM_PAGE_IS_HUGE;
    arg.return_mask = PM_PAGE_IS_HUGE | PM_PAGE_IS_PRESENT;
    long n = ioctl(fd, PM_PAGEMAP_SCAN, &arg);
    if (n < 0) {
      out("E PAGEMAP_SCAN: %s", strerror(errno));
      return 1;
    }
    for (long i = 0; i < n; i++) out("H 0x%llx 0x%llx", (unsigned long long)vec[i].start, (unsigned long long)vec[i].end);
    if (arg.walk_end <= start || n == 0) break;
    start = arg.walk_end;
  }
  out("BYE");
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "run")) return run(argc, argv);
  if (argc >= 2 && !strcmp(argv[1], "scan")) return scan(argc, argv);
  if (argc >= 2 && !strcmp(argv[1], "version")) return out("foliolab-probe 1"), 0;
  out("E usage: probe run|scan|version ...");
  return 2;
}
