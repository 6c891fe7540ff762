#!/usr/bin/env bash
# A single-node Slurm cluster in a folder, for tests and trials (Debian's slurm-wlm and munge, run as root):
#   tools/slurm_cluster.sh start DIR     writes DIR/slurm.conf, starts munged (unless running), slurmctld and slurmd;
#                                        waits until the node is idle; prints the SLURM_CONF to export
#   tools/slurm_cluster.sh stop DIR      stops the daemons it started, by their PID files
set -euo pipefail
cmd="${1:?start or stop}"; dir="$(mkdir -p "${2:?a folder}" && cd "$2" && pwd)"
conf="$dir/slurm.conf"
case "$cmd" in
start)
  for t in munged slurmctld slurmd sbatch sinfo; do command -v "$t" >/dev/null || { echo "$t not found (apt-get install slurm-wlm munge)" >&2; exit 77; }; done
  [[ $(id -u) == 0 ]] || { echo "the daemons run as root here" >&2; exit 77; }
  mkdir -p "$dir/state" "$dir/spool" "$dir/log"
  host=$(hostname -s)
  cpus=$(nproc)
  port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("",0)); print(s.getsockname()[1])' 2>/dev/null || echo $((20000 + RANDOM % 20000)); }
  cat > "$conf" <<CONF
ClusterName=percept
SlurmctldHost=$host
SlurmctldPort=$(port)
SlurmdPort=$(port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
MaxArraySize=1001
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=percept Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  if ! pgrep -x munged >/dev/null; then
    mkdir -p /run/munge /var/log/munge /var/lib/munge /etc/munge
    [[ -s /etc/munge/munge.key ]] || { dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none; chmod 400 /etc/munge/munge.key; }
    munged --force --pid-file="$dir/munged.pid"
  fi
  export SLURM_CONF="$conf"
  slurmctld -f "$conf"
  slurmd -f "$conf"
  for _ in $(seq 1 60); do
    state=$(sinfo -h -o %T 2>/dev/null || true)
    [[ "$state" == idle* ]] && { echo "SLURM_CONF=$conf"; exit 0; }
    sleep 0.5
  done
  echo "the node did not come up (state '${state:-none}'); see $dir/log" >&2
  exit 1 ;;
stop)
  for d in slurmd slurmctld munged; do
    [[ -s "$dir/$d.pid" ]] && kill "$(cat "$dir/$d.pid")" 2>/dev/null || true
  done ;;
*) echo "start or stop" >&2; exit 2 ;;
esac
