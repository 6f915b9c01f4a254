/*
 * hearth-jailer: runs one VMM confined, with Firecracker's jailer as the model. The manager starts it as
 * root; it prepares the confinement, becomes the VMM with exec (same pid) and is gone. Each step either
 * succeeds or the jailer exits 1 with a message on stderr before the VMM runs; nothing it made survives a
 * failure outside the namespaces it created.
 *
 *   1. open_taps       open each --tap (TUNSETIFF needs CAP_NET_ADMIN) at the fd number the VMM is told,
 *      open_reads      and each --read-fd file, read-only, that the VMM may read but not open (a saved VM
 *                      state); each --read-sealed one too, after checking it is a memfd sealed against any
 *                      change (a template's RAM, which the VMM reopens through /proc/self/fd: see ramseal.c)
 *   2. join_cgroups    move itself into each --cgroup directory (limits were written by the manager)
 *   3. new_namespaces  private mount, IPC, UTS and cgroup namespaces; with --empty-netns, a network
 *                      namespace with nothing in it
 *   4. build_jail      a tmpfs on --root holding only the --bind, --bind-ro and --dev entries (and with
 *                      --proc-self, a /proc in which the VMM sees only its own processes), then pivot_root
 *   5. drop_privileges --uid/--gid, no supplementary groups, an empty capability bounding set (the rest go
 *                      with uid 0), no_new_privs, and with --max-file-bytes a cap on the size of any file it
 *                      writes (its disks are fixed-size; its console log must not fill the host's disk);
 *                      transparent huge pages off (kept across exec): QEMU's guest RAM and translation cache
 *                      take 4 KiB pages as they are touched, so a booting guest's first touch of a page no
 *                      longer zeroes 2 MiB (measured: booted starts ~0.1 s faster, idle VMs ~2 MiB smaller)
 *   6. exec            the VMM, a path inside the jail, with only the --env variables and no fds but stdio,
 *                      the taps and the --read-fd and --read-sealed files
 *
 * usage: hearth-jailer --root DIR --uid N --gid N [--cgroup DIR]... [--tap NAME FD]... [--read-fd PATH FD]... [--read-sealed PATH FD]... [--empty-netns] [--proc-self] [--max-file-bytes N]
 *          [--bind SRC DST]... [--bind-ro SRC DST]... [--dev PATH]... [--env K=V]... -- VMM [ARG]...
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define MAX_ITEMS 128

struct pair { const char *a, *b; };

struct plan {
  const char *root;
  uid_t uid;
  gid_t gid;
  int empty_netns;
  int proc_self;
  long max_file_bytes;
  const char *cgroups[MAX_ITEMS]; int n_cgroups;
  struct pair taps[MAX_ITEMS]; int n_taps;          /* name, fd */
  struct pair reads[MAX_ITEMS]; int n_reads;        /* path, fd */
  int read_sealed[MAX_ITEMS];
  struct pair binds[MAX_ITEMS]; int n_binds;        /* src, dst */
  int bind_ro[MAX_ITEMS];
  const char *devs[MAX_ITEMS]; int n_devs;
  char *env[MAX_ITEMS + 1]; int n_env;
  char **argv;
};

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("hearth-jailer: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(1);
}

static long number(const char *s, const char *what) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || *s == '\0' || *end != '\0' || v < 0) die("%s: not a number: %s", what, s);
  return v;
}

static void need(int have, int argc, int i, const char *flag) {
  if (i + have >= argc) die("%s needs %d value(s)", flag, have);
}

static void check_room(int n, const char *flag) {
  if (n >= MAX_ITEMS) die("too many %s", flag);
}

static void parse(int argc, char **argv, struct plan *p) {
  memset(p, 0, sizeof *p);
  p->uid = (uid_t)-1;
  p->gid = (gid_t)-1;
  int i;
  for (i = 1; i < argc; i++) {
    const char *f = argv[i];
    if (!strcmp(f, "--")) { i++; break; }
    if (!strcmp(f, "--root")) { need(1, argc, i, f); p->root = argv[++i]; }
    else if (!strcmp(f, "--uid")) { need(1, argc, i, f); p->uid = (uid_t)number(argv[++i], f); }
    else if (!strcmp(f, "--gid")) { need(1, argc, i, f); p->gid = (gid_t)number(argv[++i], f); }
    else if (!strcmp(f, "--empty-netns")) p->empty_netns = 1;
    else if (!strcmp(f, "--proc-self")) p->proc_self = 1;
    else if (!strcmp(f, "--max-file-bytes")) { need(1, argc, i, f); p->max_file_bytes = number(argv[++i], f); }
    else if (!strcmp(f, "--cgroup")) { need(1, argc, i, f); check_room(p->n_cgroups, f); p->cgroups[p->n_cgroups++] = argv[++i]; }
    else if (!strcmp(f, "--tap")) {
      need(2, argc, i, f); check_room(p->n_taps, f);
      p->taps[p->n_taps++] = (struct pair){ argv[i + 1], argv[i + 2] };
      i += 2;
    } else if (!strcmp(f, "--read-fd") || !strcmp(f, "--read-sealed")) {
      need(2, argc, i, f); check_room(p->n_reads, f);
      p->read_sealed[p->n_reads] = !strcmp(f, "--read-sealed");
      p->reads[p->n_reads++] = (struct pair){ argv[i + 1], argv[i + 2] };
      i += 2;
    } else if (!strcmp(f, "--bind") || !strcmp(f, "--bind-ro")) {
      need(2, argc, i, f); check_room(p->n_binds, f);
      p->bind_ro[p->n_binds] = !strcmp(f, "--bind-ro");
      p->binds[p->n_binds++] = (struct pair){ argv[i + 1], argv[i + 2] };
      i += 2;
    } else if (!strcmp(f, "--dev")) { need(1, argc, i, f); check_room(p->n_devs, f); p->devs[p->n_devs++] = argv[++i]; }
    else if (!strcmp(f, "--env")) { need(1, argc, i, f); check_room(p->n_env, f); p->env[p->n_env++] = argv[++i]; }
    else die("unknown argument %s", f);
  }
  if (!p->root || p->root[0] != '/') die("--root must be an absolute path");
  if (p->uid == 0 || p->uid == (uid_t)-1 || p->gid == 0 || p->gid == (gid_t)-1) die("--uid and --gid must be given and not 0");
  if (i >= argc) die("no VMM to run after --");
  p->argv = &argv[i];
}

/* Puts fd at the number `want` (3 or more), open across exec. */
static void place_fd(int fd, int want, const char *what) {
  if (fd != want) {
    if (dup2(fd, want) < 0) die("dup2 %s: %s", what, strerror(errno));
    close(fd);
  } else if (fcntl(fd, F_SETFD, 0) < 0) {
    die("fcntl %s: %s", what, strerror(errno));
  }
}

/* 1. The tap is opened here, by root, so the VMM needs neither /dev/net/tun nor CAP_NET_ADMIN. */
static void open_taps(const struct plan *p) {
  for (int i = 0; i < p->n_taps; i++) {
    int want = (int)number(p->taps[i].b, "--tap fd");
    if (want < 3) die("--tap fd must be 3 or more");
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) die("open /dev/net/tun: %s", strerror(errno));
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    if (strlen(p->taps[i].a) >= IFNAMSIZ) die("tap name too long: %s", p->taps[i].a);
    strcpy(ifr.ifr_name, p->taps[i].a);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) die("attach tap %s: %s", p->taps[i].a, strerror(errno));
    place_fd(fd, want, p->taps[i].a);
  }
}

/* 1b. Files opened here, read-only and as root, so the VMM reads them without any right to open or change them. */
static void open_reads(const struct plan *p) {
  for (int i = 0; i < p->n_reads; i++) {
    int want = (int)number(p->reads[i].b, "--read-fd/--read-sealed fd");
    if (want < 3) die("--read-fd/--read-sealed fd must be 3 or more");
    int fd = open(p->reads[i].a, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) die("open %s: %s", p->reads[i].a, strerror(errno));
    /* The path names a holder's descriptor (/proc/<pid>/fd/<n>): should the holder be gone and its pid
     * reused, it could name any file of any process. Only a copy root made (a memfd is its creator's) that
     * no one can change is handed over. */
    const int sealed = F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
    if (p->read_sealed[i]) {
      struct stat st;
      int seals = fcntl(fd, F_GET_SEALS);
      if (seals < 0 || (seals & sealed) != sealed || fstat(fd, &st) < 0 || st.st_uid != 0)
        die("%s is not a sealed copy made by root", p->reads[i].a);
    }
    place_fd(fd, want, p->reads[i].a);
  }
}

static void write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) die("open %s: %s", path, strerror(errno));
  ssize_t n = write(fd, text, strlen(text));
  if (n != (ssize_t)strlen(text)) die("write %s: %s", path, n < 0 ? strerror(errno) : "short write");
  close(fd);
}

/* 2. Joined before exec, so the limits hold from the VMM's first allocation. */
static void join_cgroups(const struct plan *p) {
  char path[4096], pid[32];
  snprintf(pid, sizeof pid, "%d\n", (int)getpid());
  for (int i = 0; i < p->n_cgroups; i++) {
    if (snprintf(path, sizeof path, "%s/cgroup.procs", p->cgroups[i]) >= (int)sizeof path) die("cgroup path too long");
    write_file(path, pid);
  }
}

/* 3. */
static void new_namespaces(const struct plan *p) {
  int flags = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP | (p->empty_netns ? CLONE_NEWNET : 0);
  if (unshare(flags) < 0) die("unshare: %s", strerror(errno));
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) die("make / private: %s", strerror(errno));
}

static void mkdirs(const char *path) {
  char buf[4096];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) die("path too long: %s", path);
  for (char *s = buf + 1; *s; s++) {
    if (*s != '/') continue;
    *s = '\0';
    if (mkdir(buf, 0755) < 0 && errno != EEXIST) die("mkdir %s: %s", buf, strerror(errno));
    *s = '/';
  }
  if (mkdir(buf, 0755) < 0 && errno != EEXIST) die("mkdir %s: %s", buf, strerror(errno));
}

static void jail_path(char *out, size_t size, const char *root, const char *inside) {
  if (inside[0] != '/' || strstr(inside, "..")) die("jail path must be absolute without '..': %s", inside);
  if (snprintf(out, size, "%s%s", root, inside) >= (int)size) die("path too long: %s", inside);
}

/* The mount point takes the source's kind: a directory for a directory, an empty file for anything else. */
static void make_mount_point(const char *target, int is_dir) {
  char parent[4096];
  snprintf(parent, sizeof parent, "%s", target);
  char *slash = strrchr(parent, '/');
  if (slash && slash != parent) { *slash = '\0'; mkdirs(parent); }
  if (is_dir) {
    mkdirs(target);
  } else {
    int fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) die("create %s: %s", target, strerror(errno));
    close(fd);
  }
}

static void bind_into(const char *src, const char *target, int read_only) {
  struct stat st;
  if (stat(src, &st) < 0) die("%s: %s", src, strerror(errno));
  make_mount_point(target, S_ISDIR(st.st_mode));
  if (mount(src, target, NULL, MS_BIND | MS_REC, NULL) < 0) die("bind %s: %s", src, strerror(errno));
  unsigned long flags = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | (read_only ? MS_RDONLY : 0);
  if (mount(NULL, target, NULL, flags, NULL) < 0) die("remount %s: %s", target, strerror(errno));
}

/* Device nodes are made, not bound, so they can belong to the VMM's uid (e.g. /dev/kvm is root:kvm 0660). */
static void make_device(const struct plan *p, const char *path, const char *target) {
  struct stat st;
  if (stat(path, &st) < 0) die("%s: %s", path, strerror(errno));
  if (!S_ISCHR(st.st_mode)) die("%s is not a character device", path);
  char parent[4096];
  snprintf(parent, sizeof parent, "%s", target);
  *strrchr(parent, '/') = '\0';
  mkdirs(parent);
  if (mknod(target, S_IFCHR | 0600, st.st_rdev) < 0) die("mknod %s: %s", target, strerror(errno));
  if (chown(target, p->uid, p->gid) < 0) die("chown %s: %s", target, strerror(errno));
}

/*
 * A procfs of its own (Linux 5.8+): only the directories of processes (subset=pid), and of those only the
 * ones of the VMM's uid (hidepid=invisible), i.e. its own. QEMU reaches a file it was handed open by path
 * through /proc/self/fd (a template's RAM: see ramseal.c).
 */
static void mount_proc_self(const struct plan *p) {
  char target[4096];
  jail_path(target, sizeof target, p->root, "/proc");
  mkdirs(target);
  if (mount("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=invisible,subset=pid") < 0) die("mount /proc: %s", strerror(errno));
}

/* 4. pivot_root(".", ".") stacks the old root under the new one; detaching it leaves only the jail. */
static void build_jail(const struct plan *p) {
  char target[4096];
  if (mount("hearth-jail", p->root, "tmpfs", MS_NOSUID, "mode=0755,size=1m") < 0) die("tmpfs on %s: %s", p->root, strerror(errno));
  if (p->proc_self) mount_proc_self(p);
  for (int i = 0; i < p->n_binds; i++) {
    jail_path(target, sizeof target, p->root, p->binds[i].b);
    bind_into(p->binds[i].a, target, p->bind_ro[i]);
  }
  for (int i = 0; i < p->n_devs; i++) {
    jail_path(target, sizeof target, p->root, p->devs[i]);
    make_device(p, p->devs[i], target);
  }
  if (mount(NULL, p->root, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID, NULL) < 0) die("remount jail read-only: %s", strerror(errno));
  if (chdir(p->root) < 0) die("chdir %s: %s", p->root, strerror(errno));
  if (syscall(SYS_pivot_root, ".", ".") < 0) die("pivot_root: %s", strerror(errno));
  if (umount2(".", MNT_DETACH) < 0) die("detach the old root: %s", strerror(errno));
  if (chdir("/") < 0) die("chdir /: %s", strerror(errno));
}

/* 5. */
static void drop_privileges(const struct plan *p) {
  for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++) {
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) die("drop capability %d: %s", cap, strerror(errno));
  }
  if (setgroups(0, NULL) < 0) die("setgroups: %s", strerror(errno));
  if (setresgid(p->gid, p->gid, p->gid) < 0) die("setresgid: %s", strerror(errno));
  if (setresuid(p->uid, p->uid, p->uid) < 0) die("setresuid: %s", strerror(errno));
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die("no_new_privs: %s", strerror(errno));
  if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) < 0) die("transparent huge pages off: %s", strerror(errno));
  if (p->max_file_bytes > 0) {
    struct rlimit limit = { (rlim_t)p->max_file_bytes, (rlim_t)p->max_file_bytes };
    if (setrlimit(RLIMIT_FSIZE, &limit) < 0) die("setrlimit RLIMIT_FSIZE: %s", strerror(errno));
  }
}

static int kept(const struct plan *p, int fd) {
  for (int i = 0; i < p->n_taps; i++) if ((int)number(p->taps[i].b, "--tap fd") == fd) return 1;
  for (int i = 0; i < p->n_reads; i++) if ((int)number(p->reads[i].b, "--read-fd/--read-sealed fd") == fd) return 1;
  return 0;
}

/* Whatever the manager let slip into the child (it marks its own fds close-on-exec) does not reach the VMM. */
static void close_other_fds(const struct plan *p) {
  int keep_until = 2;
  for (int fd = 3; fd < 3 + 2 * MAX_ITEMS; fd++) if (kept(p, fd)) keep_until = fd;
  for (int fd = 3; fd <= keep_until; fd++) if (!kept(p, fd)) close(fd);
  if (close_range((unsigned)keep_until + 1, ~0U, 0) < 0) die("close_range: %s", strerror(errno));
}

int main(int argc, char **argv) {
  struct plan p;
  parse(argc, argv, &p);
  open_taps(&p);
  open_reads(&p);
  join_cgroups(&p);
  new_namespaces(&p);
  build_jail(&p);
  drop_privileges(&p);
  close_other_fds(&p);
  p.env[p.n_env] = NULL;
  execve(p.argv[0], p.argv, p.env);
  die("exec %s: %s", p.argv[0], strerror(errno));
}
