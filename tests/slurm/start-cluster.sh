#!/usr/bin/env bash
# Install (if needed) and start a real single-node Slurm cluster on localhost.
#
#   eval "$(tests/slurm/start-cluster.sh)"      # or: tests/slurm/start-cluster.sh && . /tmp/p2p-slurm/env
#
# Idempotent: a second call with the cluster already up only re-checks it (~1 s).
# stdout carries exactly one line, `export SLURM_CONF=<state dir>/slurm.conf`;
# all progress messages go to stderr.  See tests/slurm/README.md.
#
# Environment knobs:
#   SLURM_STATE_DIR       state/config/log directory       (default /tmp/p2p-slurm)
#   SLURM_START_TIMEOUT   seconds to wait for an idle node  (default 60)
#   SLURM_FAKE_GPUS       number of fake GPUs on the node   (default 1; 0 disables GRES)
#   SLURM_NODE_MEM_MB     RealMemory of the node            (default 90% of MemTotal)
#   SLURM_CRED_EXPIRE     AuthInfo cred_expire in seconds (default 10; Slurm's
#                         default 120): a requeued job is held cred_expire+1 s
#   SLURM_SCHED_INTERVAL  SchedulerParameters sched_interval (default 2; Slurm's 60)
set -euo pipefail

STATE="${SLURM_STATE_DIR:-/tmp/p2p-slurm}"
TIMEOUT="${SLURM_START_TIMEOUT:-60}"
FAKE_GPUS="${SLURM_FAKE_GPUS:-1}"
CRED_EXPIRE="${SLURM_CRED_EXPIRE:-10}"
SCHED_INTERVAL="${SLURM_SCHED_INTERVAL:-2}"
CONF="$STATE/slurm.conf"
NODE=localhost
PARTITION=debug          # default partition, PriorityTier=1 (preemptible)
PARTITION_HIGH=high      # PriorityTier=2: its jobs preempt debug jobs (requeue or cancel)

log() { printf '[start-cluster] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ "$CRED_EXPIRE" =~ ^[0-9]+$ ]] && [ "$CRED_EXPIRE" -ge 5 ] || die "SLURM_CRED_EXPIRE must be an integer >= 5 (got '$CRED_EXPIRE')"
[[ "$SCHED_INTERVAL" =~ ^[0-9]+$ ]] && [ "$SCHED_INTERVAL" -ge 1 ] || die "SLURM_SCHED_INTERVAL must be an integer >= 1 (got '$SCHED_INTERVAL')"

if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        exec sudo -E "$0" "$@"
    fi
    die "must run as root (installs packages and starts system daemons)"
fi

t_start=$(date +%s.%N)
elapsed() { awk -v a="$t_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# ---------------------------------------------------------------- install ----
REQUIRED_CMDS=(munged munge unmunge mungekey slurmctld slurmd slurmstepd sbatch srun squeue sinfo scancel scontrol)
export PATH="$PATH:/usr/sbin:/sbin"
missing_cmds() {
    local c
    for c in "${REQUIRED_CMDS[@]}"; do
        command -v "$c" >/dev/null 2>&1 || echo "$c"
    done
}

if [ -n "$(missing_cmds)" ]; then
    log "installing munge + slurm (missing: $(missing_cmds | tr '\n' ' '))"
    export DEBIAN_FRONTEND=noninteractive
    pkgs=(munge slurmctld slurmd slurm-client)
    # There is no init system to start the daemons; keep the maintainer scripts
    # from trying (we start them ourselves below).
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 0755 /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    # `apt-get update` only when the package lists do not know the packages yet.
    if ! apt-cache show slurmctld slurmd slurm-client munge >/dev/null 2>&1; then
        log "apt-get update (package lists missing)"
        apt-get update -q >&2
    fi
    if ! apt-get install -y -q --no-install-recommends "${pkgs[@]}" >&2; then
        log "install failed; retrying after apt-get update"
        apt-get update -q >&2
        apt-get install -y -q --no-install-recommends "${pkgs[@]}" >&2
    fi
    [ -z "$(missing_cmds)" ] || die "still missing after install: $(missing_cmds | tr '\n' ' ')"
    log "installed $(slurmd -V) in $(elapsed) s"
fi

# ------------------------------------------------------------------ munge ----
MUNGE_KEY=/etc/munge/munge.key
install -d -o munge -g munge -m 0700 /etc/munge /var/log/munge
install -d -o munge -g munge -m 0711 /var/lib/munge
install -d -o munge -g munge -m 0755 /run/munge
if [ ! -s "$MUNGE_KEY" ]; then
    log "creating munge key $MUNGE_KEY"
    if ! runuser -u munge -- mungekey --create --keyfile="$MUNGE_KEY" >&2 2>&1; then
        dd if=/dev/urandom of="$MUNGE_KEY" bs=1 count=1024 status=none
    fi
fi
chown munge:munge "$MUNGE_KEY"
chmod 0400 "$MUNGE_KEY"

munge_ok() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }
if munge_ok; then
    log "munged already running"
else
    log "starting munged"
    # --force: tolerate a stale socket/pid file left by a killed munged.
    runuser -u munge -- munged --force >&2
    for _ in $(seq 1 100); do munge_ok && break; sleep 0.1; done
    munge_ok || die "munged did not come up; see /var/log/munge/munged.log"
fi

# ----------------------------------------------------------------- config ----
mkdir -p "$STATE"/{ctld,log,dev}
STATE="$(cd "$STATE" && pwd -P)"
CONF="$STATE/slurm.conf"

# slurmd executes job scripts from its spool dir: it must be on an exec mount.
SPOOL="$STATE/spool"
mkdir -p "$SPOOL"
probe="$SPOOL/.exec-probe"
printf '#!/bin/sh\nexit 0\n' > "$probe"; chmod 0755 "$probe"
if ! "$probe" 2>/dev/null; then
    SPOOL="/var/spool/p2p-slurmd-$(printf '%s' "$STATE" | md5sum | cut -c1-8)"
    log "$STATE is mounted noexec; using $SPOOL as SlurmdSpoolDir"
    mkdir -p "$SPOOL"
fi
rm -f "$probe"

# Node topology exactly as slurmd detects it (avoids "inconsistent with hardware"
# drains), memory slightly below the detected total.
hw="$(slurmd -C | head -n1)"
hwval() { printf '%s\n' "$hw" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
CPUS="$(hwval CPUs)";          CPUS="${CPUS:-$(nproc)}"
BOARDS="$(hwval Boards)";      BOARDS="${BOARDS:-1}"
SOCKETS="$(hwval SocketsPerBoard)"; SOCKETS="${SOCKETS:-1}"
CORES="$(hwval CoresPerSocket)";    CORES="${CORES:-$CPUS}"
THREADS="$(hwval ThreadsPerCore)";  THREADS="${THREADS:-1}"
HW_MEM="$(hwval RealMemory)"
[ -n "$HW_MEM" ] || HW_MEM=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 ))
MEM="${SLURM_NODE_MEM_MB:-$(( HW_MEM * 9 / 10 ))}"
DEF_MEM_PER_CPU=$(( MEM / CPUS ))

GRES_NODE=""
GRES_TYPES=""
GRES_LINES=""
if [ "$FAKE_GPUS" -gt 0 ]; then
    # Fake GPUs: character devices aliasing /dev/null (major 1, minor 3).
    # slurmd only needs the device file to exist; jobs that get one see
    # CUDA_VISIBLE_DEVICES=<index>.
    for i in $(seq 0 $((FAKE_GPUS - 1))); do
        dev="$STATE/dev/nvidia$i"
        [ -c "$dev" ] || { rm -f "$dev"; mknod "$dev" c 1 3; }
    done
    GRES_TYPES="GresTypes=gpu"
    GRES_NODE="Gres=gpu:$FAKE_GPUS"
    if [ "$FAKE_GPUS" -eq 1 ]; then
        GRES_LINES="NodeName=$NODE Name=gpu File=$STATE/dev/nvidia0"
    else
        GRES_LINES="NodeName=$NODE Name=gpu File=$STATE/dev/nvidia[0-$((FAKE_GPUS - 1))]"
    fi
fi

new_conf="$(cat <<EOF
# Generated by tests/slurm/start-cluster.sh -- single-node test cluster.
ClusterName=p2p
SlurmctldHost=$NODE
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# cred_expire (Slurm default 120 s, minimum 5) is also how long a requeued job
# is held (Reason=BeginTime, EligibleTime = requeue + cred_expire + 1 s); the
# held job then starts only on the next periodic pass of the main scheduler
# (sched_interval, Slurm default 60 s: on an idle cluster nothing else triggers
# one, and backfill skips cycles without job/node changes).  Both shortened so
# preemption tests take seconds instead of ~3 minutes.
AuthInfo=cred_expire=$CRED_EXPIRE
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=$SCHED_INTERVAL
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$DEF_MEM_PER_CPU
# Keep finished jobs visible to squeue (snakemake --slurm-status-command squeue
# needs MinJobAge >= 3 * init_seconds_before_status_checks).
MinJobAge=3600
ReturnToService=2
KillWait=5
InactiveLimit=0
Waittime=0
SlurmctldTimeout=120
SlurmdTimeout=300
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$SPOOL
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# Preemption: a job in the higher PriorityTier partition preempts jobs in the
# lower one.  PreemptMode=REQUEUE requeues a preempted job only if it may be
# requeued and cancels it otherwise (state PREEMPTED); JobRequeue=0 makes
# requeueing opt-in per job (sbatch --requeue), as on many production clusters.
PreemptType=preempt/partition_prio
PreemptMode=REQUEUE
JobRequeue=0
$GRES_TYPES
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS Boards=$BOARDS SocketsPerBoard=$SOCKETS CoresPerSocket=$CORES ThreadsPerCore=$THREADS RealMemory=$MEM $GRES_NODE State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP PriorityTier=1
PartitionName=$PARTITION_HIGH Nodes=$NODE MaxTime=INFINITE State=UP PriorityTier=2
EOF
)"
new_gres="$(printf '# Generated by tests/slurm/start-cluster.sh\n%s\n' "$GRES_LINES")"

conf_changed=0
if [ "$(cat "$CONF" 2>/dev/null)" != "$new_conf" ]; then
    printf '%s\n' "$new_conf" > "$CONF"
    conf_changed=1
fi
if [ "$(cat "$STATE/gres.conf" 2>/dev/null)" != "$new_gres" ]; then
    printf '%s\n' "$new_gres" > "$STATE/gres.conf"
    conf_changed=1
fi

# Clients honour SLURM_CONF, but snakemake-executor-plugin-slurm-jobstep strips
# every SLURM_* variable (SLURM_CONF included) before its `srun` inside a job,
# so the default path must resolve too: /etc/slurm/{slurm,gres}.conf become
# symlinks to the state dir.  A pre-existing foreign file is kept as *.p2p-orig.
mkdir -p /etc/slurm
for f in slurm.conf gres.conf; do
    target="$STATE/$f"
    link="/etc/slurm/$f"
    if [ -L "$link" ] && [ "$(readlink "$link")" = "$target" ]; then continue; fi
    if [ -e "$link" ] && [ ! -L "$link" ] && [ ! -e "$link.p2p-orig" ]; then
        log "moving existing $link to $link.p2p-orig"
        mv "$link" "$link.p2p-orig"
    fi
    ln -sfn "$target" "$link"
done

export SLURM_CONF="$CONF"
printf 'export SLURM_CONF=%s\n' "$CONF" > "$STATE/env"

# ---------------------------------------------------------------- daemons ----
# A live (non-zombie) process: PID 1 in containers often does not reap, so a
# killed daemon can linger as a zombie that `kill -0` still reports.
proc_alive() {  # proc_alive <pid>
    [ -n "$1" ] && [ -r "/proc/$1/status" ] && ! grep -qs '^State:[[:space:]]*[ZX]' "/proc/$1/status"
}
pid_alive() {  # pid_alive <pidfile> <comm>
    local pid
    pid="$(cat "$1" 2>/dev/null || true)"
    proc_alive "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]
}
stop_daemon() {  # stop_daemon <pidfile> <comm>
    local pid
    pid_alive "$1" "$2" || return 0
    pid="$(cat "$1")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do proc_alive "$pid" || return 0; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
}

if [ "$conf_changed" = 1 ] && { pid_alive "$STATE/slurmd.pid" slurmd || pid_alive "$STATE/slurmctld.pid" slurmctld; }; then
    log "configuration changed; restarting slurm daemons"
    stop_daemon "$STATE/slurmd.pid" slurmd
    stop_daemon "$STATE/slurmctld.pid" slurmctld
fi

if pid_alive "$STATE/slurmctld.pid" slurmctld; then
    log "slurmctld already running"
else
    log "starting slurmctld"
    # -c: start from a clean job state (a stale state dir never blocks startup).
    slurmctld -c -f "$CONF" >&2
fi
if pid_alive "$STATE/slurmd.pid" slurmd; then
    log "slurmd already running"
else
    log "starting slurmd"
    slurmd -N "$NODE" -f "$CONF" >&2
fi

# ------------------------------------------------------------------- wait ----
dump_logs() {
    log "---- sinfo / scontrol ----"
    sinfo -N -l >&2 2>&1 || true
    scontrol show node "$NODE" >&2 2>&1 || true
    local f
    for f in "$STATE/log/slurmctld.log" "$STATE/log/slurmd.log" /var/log/munge/munged.log; do
        log "---- tail -n 40 $f ----"
        tail -n 40 "$f" >&2 2>/dev/null || true
    done
}

deadline=$(( $(date +%s) + TIMEOUT ))
resumed=0
state=""
while :; do
    state="$(sinfo -h -N -n "$NODE" -o '%T' 2>/dev/null | head -n1 || true)"
    case "$state" in
        idle|mixed|allocated|completing) break ;;
        drained|draining|down|*drain*|*down*)
            # e.g. left DOWN by a previous unclean stop; bring it back once.
            if [ "$resumed" = 0 ] && pid_alive "$STATE/slurmd.pid" slurmd; then
                scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true
                resumed=1
            fi ;;
    esac
    if [ "$(date +%s)" -ge "$deadline" ]; then
        log "node $NODE not idle after ${TIMEOUT}s (state: '${state:-<no answer from slurmctld>}')"
        pid_alive "$STATE/slurmctld.pid" slurmctld || log "slurmctld is NOT running"
        pid_alive "$STATE/slurmd.pid" slurmd || log "slurmd is NOT running"
        dump_logs
        exit 1
    fi
    sleep 0.2
done

log "cluster up: node $NODE is $state (${CPUS} CPUs, ${MEM} MB, ${FAKE_GPUS} fake GPU(s), partitions $PARTITION (default), $PARTITION_HIGH (preempts $PARTITION)) after $(elapsed) s"
log "env file: $STATE/env"
printf 'export SLURM_CONF=%s\n' "$CONF"
