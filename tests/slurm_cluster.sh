#!/usr/bin/env bash
# A one-node SLURM cluster on localhost, for testing the workflow through the SLURM executor.
# Debian 12, run as root, no systemd. Everything (config, munge key and socket, state, logs,
# pid files) lives under $SLURM_DIR; nothing in /etc or /run is touched.
#   SLURM_DIR=/tmp/x bash tests/slurm_cluster.sh up     # prints the exports to use
#   SLURM_DIR=/tmp/x bash tests/slurm_cluster.sh down
set -euo pipefail
D=${SLURM_DIR:?set SLURM_DIR to a private directory}

if [ "${1:-up}" = down ]; then  # stop what we started, by pid file, in reverse order
  for f in slurmd slurmctld munged; do
    p=$(cat "$D/$f.pid" 2>/dev/null) || continue
    kill "$p" 2>/dev/null || continue
    for _ in $(seq 1 80); do kill -0 "$p" 2>/dev/null || break; sleep 0.25; done
  done
  exit 0
fi
if [ -f "$D/munged.pid" ] && kill -0 "$(cat "$D/munged.pid")" 2>/dev/null; then
  echo "a cluster is already running in $D; run '$0 down' first" >&2; exit 1
fi

# Packages: every plugin used below is in slurm-wlm-basic-plugins (no Recommends needed).
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null; }
fi

# munge with a private key and socket; the socket directory must be o+x or munged refuses it.
mkdir -p "$D"/{munge,state,spool,log,bin}
chmod 755 "$D/munge"
[ -s "$D/munge/munge.key" ] || { dd if=/dev/urandom of="$D/munge/munge.key" bs=1024 count=1 status=none; chmod 400 "$D/munge/munge.key"; }
munged --socket="$D/munge/munge.sock" --key-file="$D/munge/munge.key" \
  --pid-file="$D/munged.pid" --seed-file="$D/munge/munged.seed" --log-file="$D/log/munged.log"

# The node name must be what slurmd registers as; RealMemory must not exceed the real RAM.
H=$(hostname -s); MEM=$(( $(free -m | awk '/^Mem:/{print $2}') - 512 ))
cat > "$D/slurm.conf" <<CONF
ClusterName=local
SlurmctldHost=${H}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$D/munge/munge.sock
CredType=cred/munge
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
MinJobAge=600
NodeName=${H} NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=${MEM} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$D/slurm.conf"

# The jobstep plugin strips every SLURM_* variable (SLURM_CONF too) before its inner srun;
# an srun shim ahead on PATH puts the config back.
printf '#!/bin/sh\nexport SLURM_CONF=%s\nexec /usr/bin/srun "$@"\n' "$SLURM_CONF" > "$D/bin/srun"
chmod +x "$D/bin/srun"

( cd "$D" && slurmctld && slurmd )
for _ in $(seq 1 60); do sinfo -h -o %T 2>/dev/null | grep -qx idle && break; sleep 0.5; done
sinfo -h -o %T | grep -qx idle || { tail -20 "$D"/log/*.log >&2; exit 1; }
echo "export SLURM_CONF=$SLURM_CONF PATH=$D/bin:\$PATH"
