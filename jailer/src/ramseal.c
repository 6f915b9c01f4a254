/*
 * hearth-ramseal: holds a sealed copy of a VM template's RAM, which the VMMs resuming from that template map
 * copy-on-write. A VMM is untrusted (its guest may have taken it over), and QEMU 7.2 opens a RAM file for
 * writing even to map it privately: a VMM that could write the file could plant code in every later clone.
 * A memfd sealed against writing, resizing and further sealing cannot be changed by anyone, whoever opens it.
 *
 *   1. fill   a new memfd of FILE's size, every page allocated: a clone's fault on a hole of a private mapping
 *             would allocate the page in the memfd (read or write), charged to that clone's cgroup and held
 *             for as long as the copy; allocated here, the copy's whole cost is known and the holder's
 *   2. copy   FILE's pages into it at the same offsets, skipping holes and pages of zeros
 *   3. seal   F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL
 *   4. hold   print the memfd's fd number on stdout (the manager opens /proc/<pid>/fd/<n> to hand it over),
 *             then wait until stdin ends: the manager is gone or let go of it. VMMs that mapped the copy
 *             keep it after this process ends.
 *
 * usage: hearth-ramseal FILE
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE 4096
#define CHUNK (1 << 20)

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("hearth-ramseal: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(1);
}

static int all_zero(const unsigned char *p) {
  static const unsigned char zeros[PAGE];
  return memcmp(p, zeros, PAGE) == 0;
}

static void write_all(int fd, const unsigned char *p, size_t n, off_t at) {
  while (n > 0) {
    ssize_t w = pwrite(fd, p, n, at);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) die("write: %s", w < 0 ? strerror(errno) : "no progress");
    p += w, n -= (size_t)w, at += w;
  }
}

static void read_all(int fd, unsigned char *p, size_t n, off_t at) {
  while (n > 0) {
    ssize_t r = pread(fd, p, n, at);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) die("read: %s", r < 0 ? strerror(errno) : "the file shrank");
    p += r, n -= (size_t)r, at += r;
  }
}

/*
 * 2. Copies the data extents (SEEK_DATA/SEEK_HOLE, widened to whole pages: a filesystem's blocks may be
 *    smaller) a chunk at a time; runs of non-zero pages go in one write.
 */
static void copy(int from, int to, off_t size) {
  static unsigned char buf[CHUNK];
  off_t data = 0;
  while (data < size && (data = lseek(from, data, SEEK_DATA)) >= 0) {
    /* The hole is sought from the extent's own start: rounded down first, it could start in the hole before. */
    off_t hole = lseek(from, data, SEEK_HOLE);
    if (hole < 0) die("seek: %s", strerror(errno));
    data -= data % PAGE;
    hole = hole % PAGE ? hole + PAGE - hole % PAGE : hole;
    if (hole > size) hole = size;
    for (off_t at = data; at < hole;) {
      size_t want = (size_t)(hole - at < CHUNK ? hole - at : CHUNK);
      read_all(from, buf, want, at);
      size_t run = 0, pages = want / PAGE;
      for (size_t i = 0; i <= pages; i++) {
        if (i < pages && !all_zero(buf + i * PAGE)) continue;
        if (i > run) write_all(to, buf + run * PAGE, (i - run) * PAGE, at + (off_t)(run * PAGE));
        run = i + 1;
      }
      at += (off_t)want;
    }
    data = hole;
  }
  if (data < 0 && errno != ENXIO) die("seek: %s", strerror(errno));
}

int main(int argc, char **argv) {
  if (argc != 2) die("usage: hearth-ramseal FILE");
  int from = open(argv[1], O_RDONLY | O_CLOEXEC);
  if (from < 0) die("open %s: %s", argv[1], strerror(errno));
  struct stat st;
  if (fstat(from, &st) < 0) die("stat %s: %s", argv[1], strerror(errno));
  if (!S_ISREG(st.st_mode) || st.st_size == 0 || st.st_size % PAGE) die("%s: not a RAM image (a regular file of whole pages)", argv[1]);
  int ram = memfd_create("hearth-template-ram", MFD_ALLOW_SEALING);
  if (ram < 0) die("memfd_create: %s", strerror(errno));
  if (fallocate(ram, 0, 0, st.st_size) < 0) die("allocate the copy (%lld bytes): %s", (long long)st.st_size, strerror(errno));
  copy(from, ram, st.st_size);
  close(from);
  if (fcntl(ram, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) die("seal: %s", strerror(errno));
  printf("%d\n", ram);
  if (fflush(stdout) != 0) die("stdout: %s", strerror(errno));
  for (char c;;) {
    ssize_t r = read(0, &c, 1);
    if (r == 0 || (r < 0 && errno != EINTR)) return 0;
  }
}
