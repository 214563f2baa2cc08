/*
 * forkserver: warm containers. A job may name a fork server (a "zygote"):
 * a program started once in the job's container and kept warm, which forks
 * one child per job instead of the executor cloning a container from
 * scratch. This header is the protocol a zygote speaks (the manual for
 * zygote writers: runners/pytest/python/maelstrom_fork_server.py is one),
 * then the executor's zygote pool.
 *
 * ---- The protocol ----------------------------------------------------------
 *
 * Start. The executor launches the zygote like a cold job of the first job
 * that names it (or, ahead of any job, of the spec given to
 * executor_prewarm, container/executor.h): same container, environment (plus
 * MAELSTROM_FORK_SERVER_FD=3) and working directory, argv = the job's
 * fork_server_argv, stdin /dev/null, stdout and stderr on pipes the executor
 * drains (their last bytes appear in messages when the zygote fails), and
 * fd 3: one end of an AF_UNIX SOCK_SEQPACKET socket pair. The zygote is PID 1
 * of the container's PID namespace: when it dies, every child it forked dies
 * with it.
 *
 * Messages. Each message is one datagram holding one JSON object (UTF-8, at
 * most FORKSERVER_MAX_MSG bytes), possibly with file descriptors attached
 * (SCM_RIGHTS). Unknown keys are ignored.
 *
 *   zygote -> executor   {"ready": true}
 *       Sent once, when warm. No request is sent before it. A zygote that
 *       exits, closes fd 3, sends {"error": "why"} or is not ready within
 *       FORKSERVER_READY_TIMEOUT_S is broken: its waiting jobs run cold, and
 *       the executor does not start that zygote again.
 *
 *   executor -> zygote   {"job": ID, "program": "sh", "argv": [..], "envp": ["K=V", ..],
 *                         "cwd": "/dir", "network": "disabled"|"loopback"|"local"}
 *                        + 2 fds: the job's stdout and stderr (write ends)
 *       Run one job. program/argv/envp/cwd are the job's own (what it would
 *       run cold: program is searched in envp's PATH when it has no '/', and
 *       is usually argv[0]). The zygote forks a child for it and closes its
 *       copies of the two fds.
 *
 *   zygote -> executor   {"job": ID, "pid": N} + 1 fd: a pidfd of the job's process
 *       The job runs. The executor kills it with pidfd_send_signal(SIGKILL)
 *       on timeout or cancel (it cannot reap it: it is not its parent).
 *
 *   zygote -> executor   {"job": ID, "refused": "why"}
 *       The zygote cannot serve this job (e.g. it does not know the test):
 *       the executor runs the job cold instead.
 *
 *   zygote -> executor   {"job": ID, "exit": CODE}   or   {"job": ID, "signal": SIG}
 *       The job's process ended so. Exactly one of these per started job.
 *
 * What a child must do before it runs the job, so that it is as isolated as
 * a cold container (the zygote is uid 0 with every capability in its own
 * user namespace, so all of this is allowed):
 *   - a fresh mount namespace, every mount made private;
 *   - when the root file system is writable, a fresh upper layer: a root
 *     of its own, an overlay of the zygote's root with an empty upper (the
 *     mounts on the root carried over), so that no file an earlier job
 *     wrote shows (a zygote whose root cannot take one more overlay says
 *     so once on its stderr; its jobs then share its root);
 *   - a fresh tmpfs on /tmp when the container has a /tmp directory that
 *     the fresh upper does not make fresh (a mount of its own, or a
 *     read-only root); a project directory below /tmp is bind-mounted back
 *     over it;
 *   - a fresh PID namespace, with the job's process as its PID 1 (so
 *     everything the job starts dies with it), and /proc mounted anew when
 *     the container has proc mounted;
 *   - a network namespace of its own unless "network" is "local", with
 *     loopback up when it is "loopback": a fresh one, or one the zygote
 *     made ahead and reuses for one job at a time, as the executor's
 *     container/netpool.h does; a job in a reused namespace then runs in a
 *     user namespace of its own that has no capability over it, so it
 *     cannot reconfigure it for the next job (the Python zygote,
 *     runners/pytest/python/maelstrom_fork_server.py, does this);
 *   - stdin from /dev/null, stdout and stderr on the two fds, the job's
 *     environment and working directory;
 *   - one job per child: it exits when the job is done.
 *
 * ---- The executor's side ------------------------------------------------------
 *
 * Zygotes are keyed by (container description, envp, working directory,
 * fork_server_argv). At most executor_config.fork_servers_max live at once;
 * starting one more stops the least recently used idle one (or, when none is
 * idle, the job runs cold). A zygote with no job for fork_server_idle_s is
 * stopped (one started by executor_prewarm that no job came to, too). A
 * zygote holds no slot; its jobs do, from the request until the
 * job is done, like cold jobs, with the same time-outs, cancellation, output
 * capture (inline limit, truncated counts) and results.
 *
 * Failure never hangs or loses a job: when a zygote dies (or its socket
 * closes) while jobs are in flight, each such job that the executor did not
 * itself kill runs again cold, with fresh pipes (the output of the lost
 * attempt is dropped). A refused job runs cold. Zygote failures are logged
 * (log.h) with the zygote's last output.
 *
 * Details of this executor (container/forkserver_pool.h):
 *   - a job waiting for its zygote to become ready holds its slot;
 *   - a warm job's duration and time-out run from the moment its request
 *     was sent;
 *   - a zygote that breaks a rule (a message that is not the protocol's, a
 *     pid without its pidfd, anything but ready or error before ready)
 *     counts as failed, and so does one that leaves a request unanswered
 *     (no pid, no refusal) for the ready time-out;
 *   - a zygote that dies after it was ready (even with exit status 0) is
 *     not marked broken: the next job naming it starts a fresh one;
 *   - a zygote that closes its socket gets half a second to exit (its exit
 *     status then goes in the log) before it is killed;
 *   - the ready time-out is executor_config.fork_server_ready_s (0: the
 *     default FORKSERVER_READY_TIMEOUT_S);
 *   - a zygote is stopped with SIGKILL (being PID 1 of its container, it
 *     takes every child along); one that cannot be launched at all is
 *     broken like one that fails before ready.
 */
#ifndef CONTAINER_FORKSERVER_H
#define CONTAINER_FORKSERVER_H

/* The fd number of the zygote's socket, and the variable naming it. */
#define FORKSERVER_FD 3
#define FORKSERVER_FD_ENV "MAELSTROM_FORK_SERVER_FD"

/* Largest message either side sends. */
#define FORKSERVER_MAX_MSG (256u << 10)

/* A zygote that is not ready this long after launch is broken. */
#define FORKSERVER_READY_TIMEOUT_S 120

#endif
