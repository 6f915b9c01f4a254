/*
 * hearth bare init: the boot-time baseline. PID 1 of an initramfs that holds nothing
 * else, it proves the kernel reached userspace and hands control straight back:
 * it writes "HEARTH_BARE_INIT\n" to the serial console and powers the VM off
 * (reboot(RB_AUTOBOOT), which QEMU -no-reboot and Firecracker turn into the VMM exiting).
 * The host measures "VMM start -> marker" and "VMM start -> VMM gone" from that.
 *
 * Built with musl-gcc -static -Os: no loader, no libc to map, nothing between the
 * kernel and the marker. Touches nothing that could fail slowly: no mounts unless
 * the device node is missing.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <termios.h>
#include <unistd.h>

static const char marker[] = "HEARTH_BARE_INIT\n";

static int write_marker(const char *path)
{
	int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, marker, sizeof marker - 1);
	/* The UART sends from a buffer; wait until the marker is on the wire, or the VM
	 * may be gone before the host sees it. (close() only drains on the last close,
	 * and fds 0-2 keep the console open.) */
	tcdrain(fd);
	close(fd);
	return n == (ssize_t)(sizeof marker - 1) ? 0 : -1;
}

int main(void)
{
	/* The kernel hands PID 1 /dev/console as fds 0-2 when the initramfs has that
	 * node; ttyS0 reaches the host even when console= points elsewhere. If the
	 * archive has no device nodes, devtmpfs supplies them. */
	if (write_marker("/dev/ttyS0") != 0 && write_marker("/dev/console") != 0) {
		mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
		if (write_marker("/dev/ttyS0") != 0 && write_marker("/dev/console") != 0)
			(void)!write(1, marker, sizeof marker - 1);
	}
	reboot(RB_AUTOBOOT);
	/* PID 1 must never exit (the kernel would panic); reboot only returns on error. */
	for (;;)
		pause();
}
