/*
 * hearth-init: PID 1 of every Hearth microVM.
 *
 * It mounts what the initramfs needs, opens the virtio-serial port
 * "hearth.control" and speaks the guest protocol (docs/guest-protocol.md) on
 * it: on RUN it mounts the container's root (image disk + overlay on the
 * scratch disk), starts the process chrooted there, forwards its output,
 * reaps every child, reports the exit and, once the host acknowledged it,
 * powers the VM off. It never returns: a PID 1 that exits panics the kernel.
 *
 * Settings (kernel command line, passed to init as environment):
 *   HEARTH_INIT_VERBOSITY=0..5   console log level (default 3, INFO)
 */
#include "agent.h"
#include "channel.h"
#include "log.h"
#include "mounts.h"
#include "protocol.h"
#include "system.h"
#include "volumes.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REAP_WAIT_MS 1000

/* Keeps fds 0-2 taken, so no pipe or port ever lands on them. */
static void setup_stdio(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		int opened = open(fd == 0 ? "/dev/null" : "/dev/console", fd == 0 ? O_RDONLY : O_WRONLY);
		if (opened < 0)
			opened = open("/dev/null", O_RDWR);
		if (opened >= 0 && opened != fd) {
			dup2(opened, fd);
			close(opened);
		}
	}
}

/* Kills what is left, reaps it, syncs, unmounts and asks the VMM to stop. */
static __attribute__((noreturn)) void power_off(void)
{
	kill(-1, SIGKILL);
	struct timespec tick = {.tv_nsec = 10 * 1000000};
	for (int waited = 0; waited < REAP_WAIT_MS; waited += 10) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (errno == ECHILD)
			break;
		nanosleep(&tick, NULL);
	}
	sync();
	volumes_unmount();
	mounts_teardown();
	sync();
	PRINT_DEBUG("powering off");
	reboot(RB_AUTOBOOT); /* QEMU -no-reboot and Firecracker both exit on it */
	PRINT_FATAL("reboot: %s", strerror(errno));
	for (;;)
		pause();
}

int main(void)
{
	struct agent agent;
	char port[64];

	/* 1. Only ever PID 1 of a VM: elsewhere it would remount the host. */
	if (getpid() != 1) {
		static const char msg[] = "[FATAL hearth-init] must run as PID 1 of a Hearth VM\n";
		if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
			return 2;
		return 1;
	}

	/* 2. The initramfs's /dev, /proc and /sys, then the console for diagnostics. */
	int early_failed = mounts_early();
	setup_stdio();
	log_init();

	/* 3. Signals blocked and read from a signalfd; the STOP timer. */
	if (agent_init(&agent) != 0)
		power_off();

	/* 4. Ctrl-Alt-Del becomes SIGINT (a shutdown request); loopback up. */
	if (reboot(RB_DISABLE_CAD) != 0)
		PRINT_WARN("reboot(RB_DISABLE_CAD): %s", strerror(errno));
	system_lo_up();

	/* 5. The control channel: without it nobody can be told anything. */
	if (channel_find(port, sizeof(port)) != 0 || agent_open_channel(&agent, port) != 0)
		power_off();
	PRINT_DEBUG("control channel on %s", port);
	if (early_failed)
		agent_fail_setup(&agent, ERR_MOUNT, "mounting /dev, /proc or /sys in the initramfs failed");

	/* 6. Serve: RUN, output, signals, EXIT, until EXIT_ACK. */
	agent_run(&agent);

	/* 7. Leftovers killed, disks synced and unmounted, VM off. */
	power_off();
}
