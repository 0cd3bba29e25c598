// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/mypoll's privilege model (Documentation/userspace-api/mypoll.rst,
 * "Privileges"): what MYPOLL_IOC_GET_INFO reports; growing the queue
 * beyond the queue_size_limit module parameter takes CAP_SYS_ADMIN, by
 * ioctl and by sysfs alike, and a refused resize changes nothing; an
 * unprivileged user who may open the node reads events and uses every
 * control its open mode allows, up to the limit; the ring is charged to
 * the memory cgroup of the task that resizes the queue.
 *
 * Runs as root. The unprivileged cases run in a child with uid and gid
 * 65534 and a supplementary group that the test gives the node for the
 * time of the test, as the udev rule gives it the mypoll group.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/evcore.h>
#include <linux/mypoll.h>

#include "kselftest_harness.h"
#include "mypoll_util.h"

#define MP_LIMIT_PARAM	"/sys/module/mypoll_misc/parameters/queue_size_limit"
#define MP_NOBODY	65534
/* A supplementary group nobody else in the guest has. */
#define MP_GROUP	4242
#define MP_FEATURES	(MYPOLL_FEATURE_HRTIMER | MYPOLL_FEATURE_FILTER | \
			 MYPOLL_FEATURE_WATERMARK |			  \
			 MYPOLL_FEATURE_POLICY_BLOCK |			  \
			 MYPOLL_FEATURE_SIZE_LIMIT)

/*
 * Raise or lower CAP_SYS_ADMIN in this thread's effective set; the
 * permitted set keeps it, so it can come back.
 */
static int mp_cap_sys_admin(bool on)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &h, d))
		return -errno;
	if (on)
		d[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective |=
			CAP_TO_MASK(CAP_SYS_ADMIN);
	else
		d[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective &=
			~CAP_TO_MASK(CAP_SYS_ADMIN);
	if (syscall(SYS_capset, &h, d))
		return -errno;
	return 0;
}

static int mp_limit_read(__u64 *val)
{
	char buf[32], *end;
	int ret = mp_read_file(MP_LIMIT_PARAM, buf, sizeof(buf));

	if (ret)
		return ret;
	errno = 0;
	*val = strtoull(buf, &end, 10);
	if (errno || end == buf || (*end && *end != '\n'))
		return -EPROTO;
	return 0;
}

/* The queue size, or 0 when it cannot be read. */
static __u32 mp_qsize_nocheck(int fd)
{
	__u32 size = 0;

	return ioctl(fd, MYPOLL_IOC_GET_QUEUE_SIZE, &size) ? 0 : size;
}

static __u32 mp_qsize(struct __test_metadata *_metadata, int fd)
{
	__u32 size = 0;

	EXPECT_EQ(0, ioctl(fd, MYPOLL_IOC_GET_QUEUE_SIZE, &size));
	return size;
}

FIXTURE(priv) {
	int fd;
	char limit[32];
	bool node_changed;
	struct stat node;
};

FIXTURE_SETUP(priv)
{
	self->fd = mp_open(O_RDWR);
	ASSERT_LE(0, self->fd) {
		TH_LOG("open %s: %s (mypoll_misc must be loaded)", MP_DEV,
		       strerror(errno));
	}
	ASSERT_EQ(0, mp_read_file(MP_LIMIT_PARAM, self->limit,
				  sizeof(self->limit)));
	ASSERT_EQ(0, stat(MP_DEV, &self->node));
	mp_reset(_metadata, self->fd);
}

FIXTURE_TEARDOWN(priv)
{
	EXPECT_EQ(0, mp_cap_sys_admin(true));
	if (self->node_changed) {
		EXPECT_EQ(0, chown(MP_DEV, self->node.st_uid,
				   self->node.st_gid));
		EXPECT_EQ(0, chmod(MP_DEV, self->node.st_mode & 07777));
	}
	if (self->limit[0])
		EXPECT_EQ(0, mp_write_file(MP_LIMIT_PARAM, self->limit));
	if (self->fd >= 0) {
		EXPECT_EQ(0, mp_restore(self->fd));
		close(self->fd);
	}
}

/* Every field, from a file open for reading only; reserved bytes zero. */
TEST_F(priv, info)
{
	struct mypoll_info info;
	__u64 limit;
	size_t i;
	int ro;

	ro = mp_open(O_RDONLY);
	ASSERT_LE(0, ro);
	memset(&info, 0xa5, sizeof(info));
	ASSERT_EQ(0, ioctl(ro, MYPOLL_IOC_GET_INFO, &info));
	ASSERT_EQ(0, mp_limit_read(&limit));

	EXPECT_EQ(MYPOLL_ABI_VERSION, info.abi_version);
	EXPECT_EQ(sizeof(struct mypoll_event), info.record_size);
	EXPECT_EQ(MP_FEATURES, info.features);
	EXPECT_EQ(MYPOLL_SOURCES_ALL, info.sources);
	EXPECT_EQ(MYPOLL_PAYLOAD_MAX, info.payload_max);
	EXPECT_EQ(MYPOLL_TRIGGER_MAX, info.trigger_max);
	EXPECT_EQ(MP_MAX_QSIZE, info.queue_size_max);
	EXPECT_EQ(limit, info.queue_size_limit);
	for (i = 0; i < ARRAY_SIZE(info.reserved); i++)
		EXPECT_EQ(0U, info.reserved[i]);

	EXPECT_EQ(-1, ioctl(ro, MYPOLL_IOC_GET_INFO, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	close(ro);
}

/* The parameter moves the limit; a bad value is refused and changes it not. */
TEST_F(priv, limit_parameter)
{
	static const struct {
		const char *val;
		int err;
	} bad[] = {
		{ "0", EINVAL }, { "65537", EINVAL }, { "banana", EINVAL },
		{ "-1", EINVAL }, { "4294967296", ERANGE },
	};
	struct mypoll_info info;
	__u64 limit;
	size_t i;

	ASSERT_EQ(0, mp_write_file(MP_LIMIT_PARAM, "100"));
	ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_GET_INFO, &info));
	EXPECT_EQ(100U, info.queue_size_limit);

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-bad[i].err, mp_write_file(MP_LIMIT_PARAM,
						     bad[i].val)) {
			TH_LOG("queue_size_limit=%s", bad[i].val);
		}
		ASSERT_EQ(0, mp_limit_read(&limit));
		EXPECT_EQ(100U, limit);
	}
	ASSERT_EQ(0, mp_write_file(MP_LIMIT_PARAM, "65536"));
	ASSERT_EQ(0, mp_write_file(MP_LIMIT_PARAM, "1"));
	ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_GET_INFO, &info));
	EXPECT_EQ(1U, info.queue_size_limit);
}

/*
 * Without CAP_SYS_ADMIN: up to the limit, shrinking and the present size
 * are allowed; growing beyond both is EPERM by ioctl and sysfs, and the
 * queue keeps its size and its events. A size out of range stays EINVAL.
 */
TEST_F(priv, grow_needs_cap_sys_admin)
{
	struct mypoll_stats st;

	ASSERT_EQ(0, mp_write_file(MP_LIMIT_PARAM, "128"));
	ASSERT_EQ(10, mp_trigger(self->fd, 10));
	ASSERT_EQ(0, mp_cap_sys_admin(false));

	EXPECT_EQ(0, mp_set_qsize(self->fd, 128));
	EXPECT_EQ(-1, mp_set_qsize(self->fd, 129));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-EPERM, mp_sysfs_write("queue_size", "129"));
	EXPECT_EQ(-1, mp_set_qsize(self->fd, MP_MAX_QSIZE + 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-EINVAL, mp_sysfs_write("queue_size", "65537"));
	EXPECT_EQ(128U, mp_qsize(_metadata, self->fd));
	mp_get_stats(_metadata, self->fd, &st);
	EXPECT_EQ(10U, st.queue_depth);
	EXPECT_EQ(0U, st.dropped);

	EXPECT_EQ(0, mp_set_qsize(self->fd, 32));
	EXPECT_EQ(0, mp_sysfs_write("queue_size", "100"));

	/* With the capability, beyond the limit. */
	ASSERT_EQ(0, mp_cap_sys_admin(true));
	EXPECT_EQ(0, mp_set_qsize(self->fd, 1024));
	ASSERT_EQ(0, mp_cap_sys_admin(false));

	/* Above the limit already: the same size or less needs nothing. */
	EXPECT_EQ(0, mp_set_qsize(self->fd, 1024));
	EXPECT_EQ(0, mp_set_qsize(self->fd, 512));
	EXPECT_EQ(-1, mp_set_qsize(self->fd, 513));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(512U, mp_qsize(_metadata, self->fd));
	EXPECT_EQ(10, mp_drain(self->fd));
}

/* What the unprivileged child checks, in order; its exit status is the step. */
enum {
	STEP_OK,
	STEP_DROP,
	STEP_OPEN,
	STEP_TRIGGER,
	STEP_READ,
	STEP_FILTER,
	STEP_WATERMARK,
	STEP_GROW,
	STEP_GROW_REFUSED,
	STEP_SYSFS,
	STEP_PARAM,
	STEP_RESET,
	STEP_RDONLY_OPEN,
	STEP_RDONLY_CONTROL,
	STEP_RDONLY_READ,
};

static const char * const step_names[] = {
	[STEP_DROP] = "dropping to uid 65534",
	[STEP_OPEN] = "open O_RDWR as a group member",
	[STEP_TRIGGER] = "trigger 3",
	[STEP_READ] = "read the 3 manual events",
	[STEP_FILTER] = "MYPOLL_IOC_SET_FILTER",
	[STEP_WATERMARK] = "MYPOLL_IOC_SET_WATERMARK",
	[STEP_GROW] = "grow to the limit",
	[STEP_GROW_REFUSED] = "grow beyond the limit: EPERM",
	[STEP_SYSFS] = "sysfs queue_size: EACCES",
	[STEP_PARAM] = "queue_size_limit: EACCES",
	[STEP_RESET] = "MYPOLL_IOC_RESET_STATS",
	[STEP_RDONLY_OPEN] = "open O_RDONLY",
	[STEP_RDONLY_CONTROL] = "a device-wide control read-only: EBADF",
	[STEP_RDONLY_READ] = "read-only file reads the trigger's event",
};

static int mp_drop_to_nobody(bool member)
{
	gid_t group = MP_GROUP;

	if (setgroups(member ? 1 : 0, &group) ||
	    setresgid(MP_NOBODY, MP_NOBODY, MP_NOBODY) ||
	    setresuid(MP_NOBODY, MP_NOBODY, MP_NOBODY))
		return -1;
	/* Every capability went with uid 0. */
	return mp_cap_sys_admin(true) == -EPERM ? 0 : -1;
}

static int unprivileged_member(void)
{
	struct mypoll_event ev[4];
	__u64 filter = 1ULL << MYPOLL_SOURCE_MANUAL;
	__u32 wm = 2, size = 256;
	int fd, ro, i;

	if (mp_drop_to_nobody(true))
		return STEP_DROP;
	fd = open(MP_DEV, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return STEP_OPEN;
	if (mp_trigger(fd, 3) != 3)
		return STEP_TRIGGER;
	if (mp_collect(fd, ev, 3, MP_WAIT_MS) != 3)
		return STEP_READ;
	for (i = 0; i < 3; i++)
		if (ev[i].hdr.source_id != MYPOLL_SOURCE_MANUAL)
			return STEP_READ;
	if (ioctl(fd, MYPOLL_IOC_SET_FILTER, &filter))
		return STEP_FILTER;
	if (ioctl(fd, MYPOLL_IOC_SET_WATERMARK, &wm))
		return STEP_WATERMARK;
	if (mp_set_qsize(fd, size))
		return STEP_GROW;
	size++;
	if (mp_set_qsize(fd, size) != -1 || errno != EPERM ||
	    mp_qsize_nocheck(fd) != 256)
		return STEP_GROW_REFUSED;
	if (mp_sysfs_write("queue_size", "64") != -EACCES)
		return STEP_SYSFS;
	if (mp_write_file(MP_LIMIT_PARAM, "65536") != -EACCES)
		return STEP_PARAM;
	if (ioctl(fd, MYPOLL_IOC_RESET_STATS))
		return STEP_RESET;

	ro = open(MP_DEV, O_RDONLY | O_CLOEXEC);
	if (ro < 0)
		return STEP_RDONLY_OPEN;
	if (mp_trigger(ro, 1) != -1 || errno != EBADF ||
	    mp_set_qsize(ro, 64) != -1 || errno != EBADF)
		return STEP_RDONLY_CONTROL;
	if (mp_trigger(fd, 1) != 1 || mp_collect(ro, ev, 1, MP_WAIT_MS) != 1)
		return STEP_RDONLY_READ;
	close(ro);
	close(fd);
	return STEP_OK;
}

static int mp_run_child(int (*fn)(void))
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid)
		_exit(fn());
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int unprivileged_outsider(void)
{
	if (mp_drop_to_nobody(false))
		return STEP_DROP;
	/* Not in the node's group: no access at all. */
	if (open(MP_DEV, O_RDONLY | O_CLOEXEC) != -1 || errno != EACCES)
		return STEP_OPEN;
	return STEP_OK;
}

/* The node given to a group as the udev rule gives it: root:GROUP 0660. */
TEST_F(priv, unprivileged_user)
{
	int step;

	ASSERT_EQ(0, mp_write_file(MP_LIMIT_PARAM, "256"));
	self->node_changed = true;
	ASSERT_EQ(0, chown(MP_DEV, 0, MP_GROUP));
	ASSERT_EQ(0, chmod(MP_DEV, 0660));

	step = mp_run_child(unprivileged_member);
	EXPECT_EQ(STEP_OK, step) {
		TH_LOG("group member: failed at \"%s\"",
		       step > 0 && step <= STEP_RDONLY_READ ?
		       step_names[step] : "(child died)");
	}
	step = mp_run_child(unprivileged_outsider);
	EXPECT_EQ(STEP_OK, step) {
		TH_LOG("not a member: failed at \"%s\"",
		       step > 0 && step <= STEP_RDONLY_READ ?
		       step_names[step] : "(child died)");
	}
	EXPECT_EQ(256U, mp_qsize(_metadata, self->fd));
}

/* cgroup v2 with the memory controller, mounted here if need be. */
#define MP_CG_MNT	"/tmp/mypoll-cgroup2"
#define MP_CG_NAME	"mypoll-privilege-test"

static int mp_cg_u64(const char *dir, const char *file, __u64 *val)
{
	char path[512], buf[64], *end;
	int ret;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	ret = mp_read_file(path, buf, sizeof(buf));
	if (ret)
		return ret;
	errno = 0;
	*val = strtoull(buf, &end, 10);
	return errno || end == buf ? -EPROTO : 0;
}

static int mp_cg_write(const char *dir, const char *file, const char *val)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return mp_write_file(path, val);
}

/* Find cgroup2's mount point; 0 and @mnt, or -ENOENT. */
static int mp_cg_find(char *mnt, size_t len)
{
	char line[512], dir[256], type[64];
	FILE *f = fopen("/proc/self/mounts", "re");
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %255s %63s", dir, type) == 2 &&
		    !strcmp(type, "cgroup2")) {
			snprintf(mnt, len, "%s", dir);
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

/*
 * A resize allocates the new ring in the caller's context: it must show in
 * the caller's memory.current, and leave it when the ring is freed.
 */
TEST_F(priv, ring_charged_to_caller)
{
	const __u64 ring = (__u64)MP_MAX_QSIZE * sizeof(struct mypoll_event);
	char mnt[256], cg[300], ctl[256], path[300], pid[32];
	__u64 before, grown, shrunk;
	bool mounted = false;

	if (mp_cg_find(mnt, sizeof(mnt))) {
		snprintf(mnt, sizeof(mnt), "%s", MP_CG_MNT);
		ASSERT_TRUE(!mkdir(mnt, 0700) || errno == EEXIST);
		if (mount("none", mnt, "cgroup2", 0, NULL)) {
			rmdir(mnt);
			SKIP(return, "cannot mount cgroup2: %s", strerror(errno));
		}
		mounted = true;
	}
	snprintf(cg, sizeof(cg), "%s/%s", mnt, MP_CG_NAME);
	snprintf(path, sizeof(path), "%s/cgroup.controllers", mnt);
	ASSERT_EQ(0, mp_read_file(path, ctl, sizeof(ctl)));
	if (!strstr(ctl, "memory")) {
		if (mounted) {
			umount(mnt);
			rmdir(mnt);
		}
		SKIP(return, "no memory controller in cgroup2 (CONFIG_MEMCG)");
	}
	EXPECT_EQ(0, mp_cg_write(mnt, "cgroup.subtree_control", "+memory"));
	ASSERT_TRUE(!mkdir(cg, 0755) || errno == EEXIST);
	snprintf(pid, sizeof(pid), "%d", getpid());
	ASSERT_EQ(0, mp_cg_write(cg, "cgroup.procs", pid));

	ASSERT_EQ(0, mp_cg_u64(cg, "memory.current", &before));
	ASSERT_EQ(0, mp_set_qsize(self->fd, MP_MAX_QSIZE));
	ASSERT_EQ(0, mp_cg_u64(cg, "memory.current", &grown));
	ASSERT_EQ(0, mp_set_qsize(self->fd, MP_DEFAULT_QSIZE));
	ASSERT_EQ(0, mp_cg_u64(cg, "memory.current", &shrunk));

	EXPECT_LE(before + ring, grown) {
		TH_LOG("memory.current %llu -> %llu with a %llu-byte ring",
		       (unsigned long long)before, (unsigned long long)grown,
		       (unsigned long long)ring);
	}
	EXPECT_LE(shrunk + ring, grown) {
		TH_LOG("memory.current %llu after the ring was freed",
		       (unsigned long long)shrunk);
	}

	EXPECT_EQ(0, mp_cg_write(mnt, "cgroup.procs", pid));
	EXPECT_EQ(0, rmdir(cg));
	if (mounted) {
		EXPECT_EQ(0, umount(mnt));
		rmdir(mnt);
	}
}

TEST_HARNESS_MAIN
