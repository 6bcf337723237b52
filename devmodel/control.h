/*
 * devmodel/control.h: the control socket of one VM.
 *
 * A Unix stream socket, $XDG_RUNTIME_DIR/vdm/SYSTEM.sock (else
 * /run/vdm/SYSTEM.sock as root, else /tmp/vdm-UID/SYSTEM.sock), where
 * SYSTEM is the config's `system` name ("guest" without one). A client
 * writes one command per line and gets lines of text ending with "ok" or
 * "error: reason". Commands (devmodel/README.md has the reference):
 *   status         what SIGUSR2 prints: UUID, state, per-vdev counters
 *   stats          the same as key=value lines, for scripts
 *   reset          every vdev back to its power-on state, in config order
 *   quit [CODE]    end the VM with CODE (default 0)
 *   help
 * Commands run on the socket's own thread (its own event loop), one at a
 * time, so no device callback on the VM's event loop can starve them;
 * replies never block it. Only our own uid (or root) may connect (SO_PEERCRED); the
 * directory must be ours with mode 0700 and the socket is 0600; one vdm
 * per name (a lock file). After `quit`, a connection runs nothing more.
 */
#ifndef VDM_CONTROL_H
#define VDM_CONTROL_H

#include <stddef.h>

struct vm;
struct control;

/*
 * control_open: create the socket and serve it on the VM's event loop.
 * A live socket of the same name (another vdm) is an error (-EADDRINUSE);
 * a stale one is replaced. Returns 0 and *out, or a negative errno after
 * logging why.
 */
int control_open(struct vm *vm, struct control **out);
/* control_close: stop serving, close every client, unlink the socket. */
void control_close(struct control *c);
/* The socket's path. */
const char *control_path(const struct control *c);

/*
 * control_socket_path: the path a VM called `system` uses (for clients:
 * `vdm --control SYSTEM COMMAND`). Returns 0, or -ENAMETOOLONG.
 */
int control_socket_path(const char *system, char *buf, size_t len);

/*
 * control_client: connect to `system`'s socket, send `command`, copy the
 * reply to stdout. Returns 0 when the reply ended with "ok", 1 when it
 * ended with an error, or a negative errno when the VM could not be
 * reached.
 */
int control_client(const char *system, const char *command);

/*
 * The limits that keep a local client from wedging the VM (see control.c):
 * a client silent for idle_ms is dropped (default 10 s); at most 16 clients,
 * a new one evicting the longest-idle; at most 256 KiB of replies wait for
 * a client that does not read, then it is dropped. control_set_idle_ms is
 * for tests; call it before control_open.
 */
void control_set_idle_ms(unsigned idle_ms);

#endif /* VDM_CONTROL_H */
