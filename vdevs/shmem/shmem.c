/*
 * vdevs/shmem/shmem.c: named shared memory between the VMs of one host,
 * as qvm's shmem: a guest names an object on the device's control page,
 * attaches it, sees it in the device's window, and rings a doorbell that
 * interrupts the other VMs attached to the same object.
 *
 *	vdev shmem create ring0,64K                       # PCI (BAR0 control, BAR2 window)
 *	vdev shmem allow "app-*" deny app-secret window 4M
 *	vdev shmem loc 0xd0100000 intr ioapic:9           # MMIO: control page, then the window
 *
 * Options: `create NAME,SIZE` (repeatable: the object is created at
 * start if it does not exist, and the guest may always attach it),
 * `allow PATTERN` / `deny PATTERN` (repeatable, shell wildcards as
 * fnmatch(3)): which other names the guest may attach (creating the
 * object when it gives a size). A name is allowed when `create` names it,
 * or when no `deny` matches and, if any `allow` is given, one matches:
 * with only `deny` rules the implicit last rule is `allow *`, with any
 * `allow` it is `deny *` (qvm's implicit rule; the option parser does not
 * keep the order between allow and deny lines, so a deny always wins).
 * With no rule at all only `create`d names may be attached. `window SIZE`
 * (a power of two, 4K..256M [1M]): the guest-physical window. qvm's
 * `sched PRIORITY` is accepted and ignored (vdm has no pulse priorities).
 *
 * Placement: PCI by default (1af4:1110-style identity of our own,
 * 1b36:00f0, class 0x050000 memory controller; BAR0 4 KiB control page,
 * BAR2 the window, INTA# with `intr`, or MSI); with `loc ADDR` and
 * `intr`, MMIO: the control page at ADDR and the window at ADDR + 4 KiB.
 *
 * Control page (32-bit registers, little-endian):
 *	0x00 MAGIC "shmv" (0x766d6873)   0x04 VERSION 1
 *	0x08 STATUS: bit 0 attached      0x0c WINDOW: the window size
 *	0x10..0x4f NAME: the object name, NUL-padded ([A-Za-z0-9._-], 1..48)
 *	0x50 SIZE: bytes to create the object with when it does not exist
 *	     (0: attach only an existing one)
 *	0x54 CMD (write): 1 attach, 2 detach
 *	0x58 RESULT: of the last command: 0, or an errno (EACCES denied,
 *	     ENOENT no such object, EINVAL bad name/size, EFBIG larger than
 *	     the window, EBUSY already attached, EUSERS all 32 ids taken, EIO)
 *	0x5c OBJECT_SIZE: the attached object's size (the window shows it from
 *	     offset 0; beyond it reads all-ones and writes are ignored)
 *	0x60 DOORBELL (write): interrupt peer ID, or 0xffffffff every other peer
 *	0x64 IRQ_STATUS: bit 0 a doorbell rang (write 1 to clear)
 *	0x68 IRQ_MASK: bit 0 enables the interrupt
 *	0x6c ID: this VM's peer id on the object (0..31), 0xffffffff detached
 *	0x70 PEERS: bit n set while peer n is attached
 *	0x74 RINGER: the id of the peer that rang last
 * The interrupt is a level (asserted while IRQ_STATUS & IRQ_MASK) on MMIO
 * and INTx, one message per ring with MSI (a ring that came while masked
 * is sent when IRQ_MASK is set).
 *
 * Host side: the object is POSIX shared memory /dev/shm/vdm-shmem-NAME
 * (a 4 KiB header, whose first word is the attached-peers mask, then the
 * data); it stays until removed, like a file. Every VM maps it shared, so
 * a store in one is seen by the others at once. Peer ids and doorbells
 * are unix datagram sockets in the abstract namespace,
 * "vdm-shmem/NAME/ID": binding one claims the id (the kernel frees it
 * when the process dies), and a ring is one datagram to the peer's
 * socket, watched on the peer's event loop. No privilege is needed.
 *
 * The window is trapped, not mapped: each guest access is a VM exit that
 * the device serves from the shared mapping with an atomic load or store
 * of the access size, so it suits mailboxes and rings rather than bulk
 * data (the ABI has no service to map host memory into a guest yet).
 *
 * Save/restore: the registers and the attachment by name; a restored
 * instance attaches the object again (its id may differ).
 */
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <vdev/pci.h>
#include <vdev/state.h>
#include <vdev/vdev.h>

#define SHM_NAME_DEV	  "shmem"
#define SHM_STATE_VERSION 1
#define SHM_MAGIC	  0x766d6873u
#define SHM_CTRL_SIZE	  0x1000u
#define SHM_HEADER	  0x1000u
#define SHM_NAME_MAX	  48u
#define SHM_NAME_BYTES	  64u
#define SHM_PEERS	  32u
#define SHM_NO_ID	  0xffffffffu

enum { REGION_CFG, REGION_CTRL, REGION_WINDOW };

/* Registers. */
#define R_MAGIC	      0x00
#define R_VERSION     0x04
#define R_STATUS      0x08
#define R_WINDOW      0x0c
#define R_NAME	      0x10
#define R_SIZE	      0x50
#define R_CMD	      0x54
#define R_RESULT      0x58
#define R_OBJECT_SIZE 0x5c
#define R_DOORBELL    0x60
#define R_IRQ_STATUS  0x64
#define R_IRQ_MASK    0x68
#define R_ID	      0x6c
#define R_PEERS	      0x70
#define R_RINGER      0x74
#define CMD_ATTACH    1u
#define CMD_DETACH    2u

enum shm_option { OPT_CREATE, OPT_ALLOW, OPT_DENY, OPT_WINDOW, OPT_SCHED, OPT_COUNT };

static const struct vdev_option_spec shm_options[OPT_COUNT] = {
    [OPT_CREATE] =
	{
	    .name = "create",
	    .type = VDEV_OPT_STRING,
	    .flags = VDEV_OPTF_REPEAT,
	    .help = "NAME,SIZE: create the object at start (if absent); always attachable",
	},
    [OPT_ALLOW] =
	{
	    .name = "allow",
	    .type = VDEV_OPT_STRING,
	    .flags = VDEV_OPTF_REPEAT,
	    .help = "PATTERN: names the guest may attach (shell wildcards)",
	},
    [OPT_DENY] =
	{
	    .name = "deny",
	    .type = VDEV_OPT_STRING,
	    .flags = VDEV_OPTF_REPEAT,
	    .help = "PATTERN: names the guest may not attach (wins over allow)",
	},
    [OPT_WINDOW] =
	{
	    .name = "window",
	    .type = VDEV_OPT_SIZE,
	    .flags = VDEV_OPTF_RANGE,
	    .default_value = "1M",
	    .help = "the guest-physical window: a power of two, 4K..256M",
	    .min = 0x1000,
	    .max = 0x10000000,
	},
    [OPT_SCHED] =
	{
	    .name = "sched",
	    .type = VDEV_OPT_UINT,
	    .help = "qvm's pulse priority: accepted, vdm has none (events run on its loop)",
	},
};

/* What the guest sees and save/restore carries. */
struct shm_regs {
	char name[SHM_NAME_BYTES];
	uint32_t size, result, irq_status, irq_mask, ringer;
	bool attached;
};

struct shm {
	const struct vdev_host *host;
	vdev_host_t *h;
	const struct vdev_config *cfg;
	bool mmio;
	uint64_t base; /* MMIO: the control page */
	struct vdev_pci pci;
	struct vdev_line *line;
	bool line_level;
	uint64_t window;
	struct shm_regs r;
	/* the attachment */
	int fd, sock;
	uint8_t *map; /* header + data */
	uint64_t object_size;
	uint32_t id;
	struct vdev_watch *watch;
};

/* ------------------------------------------------------------ names, rules */

static bool shm_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (!n || n > SHM_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return name[0] != '.';
}

/* Split "NAME,SIZE" of a `create` value; size in bytes (K/M/G of 1024). */
static int shm_parse_create(const char *text, char name[SHM_NAME_BYTES], uint64_t *size)
{
	const char *comma = strchr(text, ',');
	char *end;
	unsigned long long v;

	if (!comma || (size_t)(comma - text) > SHM_NAME_MAX)
		return -EINVAL;
	memcpy(name, text, (size_t)(comma - text));
	name[comma - text] = 0;
	v = strtoull(comma + 1, &end, 0);
	if (end == comma + 1)
		return -EINVAL;
	if (*end == 'K' || *end == 'k')
		v <<= 10, end++;
	else if (*end == 'M' || *end == 'm')
		v <<= 20, end++;
	else if (*end == 'G' || *end == 'g')
		v <<= 30, end++;
	if (*end || !v || v > (1ull << 40) || !shm_name_ok(name))
		return -EINVAL;
	*size = v;
	return 0;
}

static bool shm_allowed(const struct shm *s, const char *name)
{
	const struct vdev_option_value *create = &s->cfg->options[OPT_CREATE];
	const struct vdev_option_value *allow = &s->cfg->options[OPT_ALLOW];
	const struct vdev_option_value *deny = &s->cfg->options[OPT_DENY];
	char created[SHM_NAME_BYTES];
	uint64_t size;

	for (unsigned i = 0; i < create->count; i++)
		if (!shm_parse_create(create->texts[i], created, &size) && !strcmp(created, name))
			return true;
	for (unsigned i = 0; i < deny->count; i++)
		if (!fnmatch(deny->texts[i], name, 0))
			return false;
	if (allow->count) {
		for (unsigned i = 0; i < allow->count; i++)
			if (!fnmatch(allow->texts[i], name, 0))
				return true;
		return false;
	}
	return deny->count > 0;
}

/* ------------------------------------------------------------ the object */

static void shm_object_path(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "/vdm-shmem-%s", name);
}

/* Open (and, with size, create) object `name`; the fd, or -errno. */
static int shm_object_open(const char *name, uint64_t size)
{
	char path[80];
	int fd;

	shm_object_path(path, sizeof(path), name);
	fd = shm_open(path, O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || errno != ENOENT || !size)
		return fd >= 0 ? fd : -errno;
	fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST)
		fd = shm_open(path, O_RDWR | O_CLOEXEC, 0600); /* another VM was quicker */
	else if (fd >= 0 && ftruncate(fd, (off_t)(SHM_HEADER + size)) < 0) {
		int err = -errno;

		close(fd);
		shm_unlink(path);
		return err;
	}
	return fd >= 0 ? fd : -errno;
}

static uint32_t *shm_peers_word(struct shm *s)
{
	return (uint32_t *)s->map;
}

static void shm_doorbell_addr(struct sockaddr_un *sa, socklen_t *len, const char *name, uint32_t id)
{
	int n;

	*sa = (struct sockaddr_un){.sun_family = AF_UNIX};
	/* abstract namespace: sun_path[0] = 0, no file */
	n = snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1, "vdm-shmem/%s/%u", name, id);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

static void shm_update_irq(struct shm *s);

static void shm_doorbell_event(void *dev, void *arg, int fd, uint32_t events)
{
	struct shm *s = dev;
	uint32_t who;
	bool rang = false;

	while (recv(fd, &who, sizeof(who), MSG_DONTWAIT) == (ssize_t)sizeof(who)) {
		s->r.ringer = who;
		rang = true;
	}
	if (!rang)
		return;
	s->r.irq_status |= 1;
	if (!s->mmio && vdev_pci_msi_enabled(&s->pci)) {
		if (s->r.irq_mask & 1)
			vdev_pci_msi_send(&s->pci, 0);
		return;
	}
	shm_update_irq(s);
}

static void shm_detach(struct shm *s)
{
	if (s->watch)
		s->host->fd_unwatch(s->h, s->watch);
	s->watch = NULL;
	if (s->map && s->id < SHM_PEERS)
		__atomic_fetch_and(shm_peers_word(s), ~(1u << s->id), __ATOMIC_SEQ_CST);
	if (s->map)
		munmap(s->map, SHM_HEADER + s->object_size);
	s->map = NULL;
	if (s->sock >= 0)
		close(s->sock);
	if (s->fd >= 0)
		close(s->fd);
	s->sock = s->fd = -1;
	s->object_size = 0;
	s->id = SHM_NO_ID;
	s->r.attached = false;
}

/* Attach the object named in the registers; 0 or a positive errno for RESULT. */
static uint32_t shm_attach(struct shm *s, bool check_rules)
{
	struct stat st;
	int fd;

	if (s->r.attached)
		return EBUSY;
	s->r.name[SHM_NAME_BYTES - 1] = 0;
	if (!shm_name_ok(s->r.name))
		return EINVAL;
	if (check_rules && !shm_allowed(s, s->r.name))
		return EACCES;
	if (s->r.size > s->window)
		return EFBIG;
	fd = shm_object_open(s->r.name, s->r.size);
	if (fd < 0)
		return (uint32_t)-fd;
	if (fstat(fd, &st) < 0 || st.st_size < (off_t)SHM_HEADER) {
		close(fd);
		return EIO;
	}
	if ((uint64_t)st.st_size - SHM_HEADER > s->window) {
		close(fd);
		return EFBIG;
	}
	s->fd = fd;
	s->object_size = (uint64_t)st.st_size - SHM_HEADER;
	s->map = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (s->map == MAP_FAILED) {
		s->map = NULL;
		shm_detach(s);
		return EIO;
	}
	/* the first free id: binding its doorbell socket claims it */
	s->sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	for (uint32_t id = 0; s->sock >= 0 && id < SHM_PEERS; id++) {
		struct sockaddr_un sa;
		socklen_t len;

		shm_doorbell_addr(&sa, &len, s->r.name, id);
		if (bind(s->sock, (struct sockaddr *)&sa, len) == 0) {
			s->id = id;
			break;
		}
	}
	if (s->id == SHM_NO_ID) {
		shm_detach(s);
		return EUSERS;
	}
	if (s->host->fd_watch(s->h, s->sock, VDEV_FD_IN, shm_doorbell_event, NULL, &s->watch)) {
		shm_detach(s);
		return EIO;
	}
	__atomic_fetch_or(shm_peers_word(s), 1u << s->id, __ATOMIC_SEQ_CST);
	s->r.attached = true;
	s->host->log(s->h, VDEV_LOG_INFO, "attached %s (%llu bytes) as peer %u", s->r.name,
		     (unsigned long long)s->object_size, s->id);
	return 0;
}

static void shm_ring(struct shm *s, uint32_t target)
{
	if (!s->r.attached)
		return;
	for (uint32_t id = 0; id < SHM_PEERS; id++) {
		struct sockaddr_un sa;
		socklen_t len;

		if (target == SHM_NO_ID ? id == s->id : id != target)
			continue;
		shm_doorbell_addr(&sa, &len, s->r.name, id);
		/* a full queue already holds a ring for that peer: coalesced */
		sendto(s->sock, &s->id, sizeof(s->id), MSG_DONTWAIT, (struct sockaddr *)&sa, len);
	}
}

/* ------------------------------------------------------------ registers */

static void shm_update_irq(struct shm *s)
{
	bool level = s->r.irq_status & s->r.irq_mask & 1;

	if (!s->mmio) {
		vdev_pci_intx(&s->pci, level);
		return;
	}
	if (s->line && level != s->line_level)
		s->host->line_set(s->h, s->line, level);
	s->line_level = level;
}

static uint32_t shm_ctrl_read(struct shm *s, uint64_t off)
{
	uint32_t v = 0;

	if (off >= R_NAME && off + 4 <= R_NAME + SHM_NAME_BYTES) {
		memcpy(&v, s->r.name + (off - R_NAME), 4);
		return v;
	}
	switch (off) {
	case R_MAGIC:
		return SHM_MAGIC;
	case R_VERSION:
		return 1;
	case R_STATUS:
		return s->r.attached ? 1 : 0;
	case R_WINDOW:
		return (uint32_t)s->window;
	case R_SIZE:
		return s->r.size;
	case R_RESULT:
		return s->r.result;
	case R_OBJECT_SIZE:
		return (uint32_t)s->object_size;
	case R_IRQ_STATUS:
		return s->r.irq_status;
	case R_IRQ_MASK:
		return s->r.irq_mask;
	case R_ID:
		return s->id;
	case R_PEERS:
		return s->map ? __atomic_load_n(shm_peers_word(s), __ATOMIC_SEQ_CST) : 0;
	case R_RINGER:
		return s->r.ringer;
	}
	return 0;
}

static void shm_ctrl_write(struct shm *s, uint64_t off, uint32_t v)
{
	if (off >= R_NAME && off + 4 <= R_NAME + SHM_NAME_BYTES) {
		if (!s->r.attached) /* the name of an attached object stays */
			memcpy(s->r.name + (off - R_NAME), &v, 4);
		s->r.name[SHM_NAME_BYTES - 1] = 0; /* always a string */
		return;
	}
	switch (off) {
	case R_SIZE:
		s->r.size = v;
		break;
	case R_CMD:
		if (v == CMD_ATTACH) {
			s->r.result = shm_attach(s, true);
		} else if (v == CMD_DETACH) {
			shm_detach(s);
			s->r.result = 0;
		} else {
			s->r.result = EINVAL;
		}
		break;
	case R_DOORBELL:
		shm_ring(s, v);
		break;
	case R_IRQ_STATUS:
		s->r.irq_status &= ~v;
		break;
	case R_IRQ_MASK:
		/* MSI is an edge: a ring that waited masked is sent on unmask */
		if (!s->mmio && vdev_pci_msi_enabled(&s->pci) && (v & 1) && !s->r.irq_mask &&
		    (s->r.irq_status & 1))
			vdev_pci_msi_send(&s->pci, 0);
		s->r.irq_mask = v & 1;
		break;
	}
	shm_update_irq(s);
}

/* The window: an atomic access of the guest's size where it is aligned. */
static int shm_window_access(struct shm *s, uint64_t off, unsigned size, uint64_t *v, bool write)
{
	uint8_t *p;

	if (!s->map || off >= s->object_size || size > s->object_size - off) {
		if (!write)
			*v = size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
		return 0;
	}
	p = s->map + SHM_HEADER + off;
	if (off % size) {
		if (write)
			memcpy(p, v, size);
		else
			memcpy(v, p, size);
		return 0;
	}
	switch (size) {
	case 1:
		if (write)
			__atomic_store_n(p, (uint8_t)*v, __ATOMIC_SEQ_CST);
		else
			*v = __atomic_load_n(p, __ATOMIC_SEQ_CST);
		break;
	case 2:
		if (write)
			__atomic_store_n((uint16_t *)p, (uint16_t)*v, __ATOMIC_SEQ_CST);
		else
			*v = __atomic_load_n((uint16_t *)p, __ATOMIC_SEQ_CST);
		break;
	case 4:
		if (write)
			__atomic_store_n((uint32_t *)p, (uint32_t)*v, __ATOMIC_SEQ_CST);
		else
			*v = __atomic_load_n((uint32_t *)p, __ATOMIC_SEQ_CST);
		break;
	default:
		if (write)
			__atomic_store_n((uint64_t *)p, *v, __ATOMIC_SEQ_CST);
		else
			*v = __atomic_load_n((uint64_t *)p, __ATOMIC_SEQ_CST);
	}
	return 0;
}

static int shm_read(void *dev, const struct vdev_access *a, uint64_t *value)
{
	struct shm *s = dev;

	if (!s->mmio && vdev_pci_is_config(&s->pci, a))
		return vdev_pci_config_read(&s->pci, a, value);
	if (a->region == REGION_WINDOW)
		return shm_window_access(s, a->offset, a->size, value, false);
	*value = a->size == 4 && !(a->offset & 3) ? shm_ctrl_read(s, a->offset) : 0;
	return 0;
}

static int shm_write(void *dev, const struct vdev_access *a, uint64_t value)
{
	struct shm *s = dev;

	if (!s->mmio && vdev_pci_is_config(&s->pci, a))
		return vdev_pci_config_write(&s->pci, a, value);
	if (a->region == REGION_WINDOW)
		return shm_window_access(s, a->offset, a->size, &value, true);
	if (a->size == 4 && !(a->offset & 3))
		shm_ctrl_write(s, a->offset, (uint32_t)value);
	return 0;
}

/* ------------------------------------------------------------ instance */

static int shm_create_objects(struct shm *s)
{
	const struct vdev_option_value *create = &s->cfg->options[OPT_CREATE];

	for (unsigned i = 0; i < create->count; i++) {
		char name[SHM_NAME_BYTES];
		uint64_t size;
		int fd;

		if (shm_parse_create(create->texts[i], name, &size)) {
			s->host->log(s->h, VDEV_LOG_ERROR,
				     "create \"%s\": expected NAME,SIZE (NAME of [A-Za-z0-9._-], "
				     "1..%u)",
				     create->texts[i], SHM_NAME_MAX);
			return -EINVAL;
		}
		if (size > s->window) {
			s->host->log(s->h, VDEV_LOG_ERROR,
				     "create %s: %llu bytes do not fit the %llu-byte window", name,
				     (unsigned long long)size, (unsigned long long)s->window);
			return -EINVAL;
		}
		fd = shm_object_open(name, size);
		if (fd < 0) {
			s->host->log(s->h, VDEV_LOG_ERROR, "create %s: %s", name, strerror(-fd));
			return fd;
		}
		close(fd);
	}
	return 0;
}

static int shm_place(struct shm *s)
{
	const struct vdev_config *cfg = s->cfg;
	const struct vdev_loc *addr = NULL;
	int rc;

	for (unsigned i = 0; i < cfg->loc_count; i++)
		if (cfg->locs[i].kind == VDEV_LOC_ADDR && !addr)
			addr = &cfg->locs[i];
	if (addr && cfg->intr_count && cfg->loc_count == 1) {
		if (addr->space != VDEV_SPACE_MMIO) {
			s->host->log(s->h, VDEV_LOG_ERROR, "loc: a memory address (mem:)");
			return -EINVAL;
		}
		s->mmio = true;
		s->base = addr->base;
		rc = s->host->intr_lookup(s->h, cfg->intrs[0], &s->line);
		if (!rc)
			rc = s->host->region_add(s->h, VDEV_SPACE_MMIO, s->base, SHM_CTRL_SIZE,
						 REGION_CTRL);
		if (!rc)
			rc = s->host->region_add(s->h, VDEV_SPACE_MMIO, s->base + SHM_CTRL_SIZE,
						 s->window, REGION_WINDOW);
		return rc;
	}
	struct vdev_pci_ident ident = {
	    .vendor = 0x1b36, /* the PCI ids QEMU's tree keeps for generic devices */
	    .device = 0x00f0,
	    .class_code = 0x050000,
	    .subsystem_vendor = 0x1b36,
	    .subsystem = 0x00f0,
	    .interrupt_pin = 1,
	};

	rc = vdev_pci_init(&s->pci, s->host, s->h, &ident, REGION_CFG);
	if (!rc)
		rc = vdev_pci_bar_declare(&s->pci, 0, VDEV_PCI_BAR_MEM32, SHM_CTRL_SIZE, 0,
					  REGION_CTRL);
	if (!rc)
		rc = vdev_pci_bar_declare(&s->pci, 2, VDEV_PCI_BAR_MEM32, s->window,
					  VDEV_PCI_BAR_PREFETCH, REGION_WINDOW);
	if (!rc)
		rc = vdev_pci_msi_add(&s->pci, true, 1);
	if (!rc && cfg->intr_count) {
		rc = s->host->intr_lookup(s->h, cfg->intrs[0], &s->line);
		if (!rc)
			vdev_pci_set_intx_line(&s->pci, s->line);
	}
	if (!rc)
		rc = vdev_pci_attach(&s->pci, cfg);
	return rc;
}

static void shm_destroy(void *dev)
{
	struct shm *s = dev;

	shm_detach(s);
	free(s);
}

static int shm_create(const struct vdev_host *host, vdev_host_t *h, const struct vdev_config *cfg,
		      void **dev)
{
	struct shm *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return -ENOMEM;
	s->host = host;
	s->h = h;
	s->cfg = cfg;
	s->fd = s->sock = -1;
	s->id = SHM_NO_ID;
	s->window = cfg->options[OPT_WINDOW].v.u;
	if (s->window & (s->window - 1)) {
		host->log(h, VDEV_LOG_ERROR, "window %llu: a power of two",
			  (unsigned long long)s->window);
		free(s);
		return -EINVAL;
	}
	rc = shm_create_objects(s);
	if (!rc)
		rc = shm_place(s);
	if (rc) {
		if (rc != -EINVAL)
			host->log(h, VDEV_LOG_ERROR, "cannot place the device: %s", strerror(-rc));
		free(s);
		return rc;
	}
	*dev = s;
	return 0;
}

static void shm_reset(void *dev)
{
	struct shm *s = dev;

	shm_detach(s);
	memset(&s->r, 0, sizeof(s->r));
	if (!s->mmio)
		vdev_pci_reset(&s->pci);
	shm_update_irq(s);
}

static void shm_regs_state(struct vdev_state *st, struct shm_regs *r)
{
	vdev_state_bytes(st, r->name, sizeof(r->name));
	vdev_state_u32(st, &r->size);
	vdev_state_u32(st, &r->result);
	vdev_state_u32(st, &r->irq_status);
	vdev_state_u32(st, &r->irq_mask);
	vdev_state_u32(st, &r->ringer);
	vdev_state_bool(st, &r->attached);
}

static ssize_t shm_save(void *dev, void *buf, size_t cap)
{
	struct shm *s = dev;
	struct vdev_state st;

	vdev_state_save_begin(&st, buf, cap, SHM_NAME_DEV, SHM_STATE_VERSION);
	if (!s->mmio)
		vdev_pci_state(&st, &s->pci);
	shm_regs_state(&st, &s->r);
	return vdev_state_save_end(&st);
}

static int shm_restore(void *dev, const void *buf, size_t length)
{
	struct shm *s = dev;
	struct shm_regs r = {0};
	struct vdev_pci pci = s->pci;
	struct vdev_state st;

	vdev_state_restore_begin(&st, buf, length, SHM_NAME_DEV, SHM_STATE_VERSION);
	if (!s->mmio)
		vdev_pci_state(&st, &pci);
	shm_regs_state(&st, &r);
	if (!vdev_state_error(&st) &&
	    (r.irq_mask > 1 || r.irq_status > 1 || memchr(r.name, 0, sizeof(r.name)) == NULL))
		vdev_state_invalid(&st);
	if (vdev_state_restore_end(&st))
		return -EINVAL;
	shm_detach(s);
	if (!s->mmio) {
		s->pci = pci;
		vdev_pci_restored(&s->pci);
	}
	s->r = r;
	if (r.attached) {
		s->r.attached = false;
		/* the object was allowed when the guest attached it */
		s->r.result = shm_attach(s, false);
		if (s->r.result)
			s->host->log(s->h, VDEV_LOG_WARN, "restore: cannot attach %s again: %s",
				     s->r.name, strerror((int)s->r.result));
	}
	shm_update_irq(s);
	return 0;
}

static int shm_status(void *dev, char *buf, size_t cap)
{
	struct shm *s = dev;

	if (!s->r.attached)
		return snprintf(buf, cap, "detached, window %llu bytes",
				(unsigned long long)s->window);
	return snprintf(buf, cap, "%s attached as peer %u (%llu bytes), peers %#x", s->r.name,
			s->id, (unsigned long long)s->object_size,
			__atomic_load_n(shm_peers_word(s), __ATOMIC_SEQ_CST));
}

static const struct vdev_ops shm_ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = shm_create,
    .destroy = shm_destroy,
    .read = shm_read,
    .write = shm_write,
    .reset = shm_reset,
    .save = shm_save,
    .restore = shm_restore,
    .status = shm_status,
};

static const struct vdev_descriptor shm_descriptor = {
    VDEV_DESCRIPTOR_INIT,
    .name = SHM_NAME_DEV,
    .version = "1.0.0",
    .description = "named shared memory between VMs, with a doorbell interrupt",
    .default_space = VDEV_SPACE_MMIO,
    .access_sizes = VDEV_ACCESS_SIZES_ALL,
    .state_size = VDEV_STATE_HEADER_SIZE(sizeof(SHM_NAME_DEV) - 1) + VDEV_PCI_STATE_SIZE +
		  VDEV_STATE_SIZE_BYTES(SHM_NAME_BYTES) + 5 * VDEV_STATE_SIZE_U32 +
		  VDEV_STATE_SIZE_BOOL,
    .options = shm_options,
    .option_count = OPT_COUNT,
    .ops = &shm_ops,
};

VDEV_PLUGIN_ENTRY(shm_descriptor)
