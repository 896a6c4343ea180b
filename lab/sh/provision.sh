#!/bin/bash
# Provision the lab's Debian root (run with chroot into a copy of the debootstrap root, once per
# cache key): the node lab's stand-ins for what Proxmox VE has on a node, the ssh setup, the
# non-root user. Everything per node (host key, client key, address, hostname) is written by the
# lab at the node's first boot, not here.
set -euo pipefail
export LC_ALL=C

# --- ssh: one ed25519 host key per node (written by the lab), root by key only ---------------
rm -f /etc/ssh/ssh_host_*
mkdir -p /etc/ssh/sshd_config.d
cat > /etc/ssh/sshd_config.d/pve-lab.conf <<'EOF'
# node lab: the lab pins this node's own ed25519 host key; login by key only
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
EOF
# sshd refuses to start without a host key: fail early and clearly if the lab did not write one
mkdir -p /etc/systemd/system/ssh.service.d
cat > /etc/systemd/system/ssh.service.d/pve-lab.conf <<'EOF'
[Unit]
ConditionPathExists=/etc/ssh/ssh_host_ed25519_key
EOF

# --- the non-root user of the `sudo -n` path ---------------------------------------------------
id pvemig >/dev/null 2>&1 || useradd --create-home --shell /bin/bash --password '*' pvemig
install -d -m 0700 -o root -g root /root/.ssh
install -d -m 0700 -o pvemig -g pvemig /home/pvemig/.ssh
printf 'pvemig ALL=(ALL:ALL) NOPASSWD: ALL\n' > /etc/sudoers.d/pvemig
chmod 0440 /etc/sudoers.d/pvemig

# --- mount points: /etc/pve (the shared pmxcfs stand-in), /var/lib/pve-lab (quorum switch) ----
install -d -m 0755 /etc/pve /var/lib/pve-lab /var/log/pve-network /etc/network/interfaces.d

# --- stand-in: pvenet-legacy -------------------------------------------------------------------
cat > /usr/sbin/pvenet-legacy <<'EOF'
#!/bin/bash
# stand-in for pvenet-legacy, the Perl CLI of pve-network (only on Proxmox VE), in the node lab:
# `validate [--config F]` checks F with ifupdown2's syntax check (`ifup -a -s -i F`); `apply` applies
# /etc/network/interfaces with `ifreload -a` in the node's network namespace, as pve-manager's
# PUT /nodes/{node}/network does. Each call is recorded in /var/log/pve-network/legacy-calls.log.
set -euo pipefail
log=/var/log/pve-network/legacy-calls.log
mkdir -p /var/log/pve-network
printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >> "$log"
case "${1:-}" in
  validate)
    cfg=/etc/network/interfaces
    if [ "$#" -ge 2 ]; then
      if [ "$2" != --config ] || [ "$#" -ne 3 ]; then echo "usage: pvenet-legacy validate [--config FILE]" >&2; exit 2; fi
      cfg=$3
    fi
    [ -r "$cfg" ] || { echo "pvenet-legacy: cannot read $cfg" >&2; exit 1; }
    # Syntax and attribute check only: ifupdown2 3.0.0's no-act run (-n) fails on any bridge
    # (link_set_bridge_info_data_dry_run() is called without its link_just_created argument).
    timeout 60 ifup -a -s -i "$cfg"
    echo "pvenet-legacy (stand-in): $cfg is valid" ;;
  apply)
    [ "$#" -eq 1 ] || { echo "usage: pvenet-legacy apply" >&2; exit 2; }
    timeout 120 ifreload -a
    echo "pvenet-legacy (stand-in): applied /etc/network/interfaces" ;;
  *) echo "usage: pvenet-legacy validate [--config FILE] | apply" >&2; exit 2 ;;
esac
EOF
chmod 0755 /usr/sbin/pvenet-legacy

# --- stand-in: the legacy pve-network.service -------------------------------------------------
cat > /lib/systemd/system/pve-network.service <<'EOF'
# stand-in for the legacy Perl pve-network service (node lab): does nothing but stay active
[Unit]
Description=Proxmox VE network (legacy Perl implementation, stand-in)
After=networking.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/true

[Install]
WantedBy=multi-user.target
EOF
systemctl enable pve-network.service >/dev/null 2>&1

# --- stand-ins: corosync-quorumtool -s, pvecm status -------------------------------------------
cat > /usr/sbin/corosync-quorumtool <<'EOF'
#!/bin/bash
# stand-in for corosync-quorumtool (node lab): `-s` reports the lab's no-quorum switch, read from
# /var/lib/pve-lab/quorum (written by the lab on the host, read-only here). Exit codes as
# corosync-quorumtool(8): 0 quorate, 2 not quorate (-s only), 1 other errors.
set -euo pipefail
state=/var/lib/pve-lab/quorum
kv() { sed -n "s/^$1=//p" "$state" | head -n 1; }
if [ "${1:-}" != -s ] || [ "$#" -ne 1 ]; then echo "usage: corosync-quorumtool -s (stand-in)" >&2; exit 1; fi
[ -r "$state" ] || { echo "Cannot initialize QUORUM service (stand-in: no $state)" >&2; exit 1; }
quorate=$(kv quorate) nodes=$(kv nodes) nodeid=$(kv nodeid)
votes=$nodes; yes=Yes; flags=Quorate
if [ "$quorate" != 1 ]; then votes=1; yes=No; flags=; fi
printf 'Quorum information\n------------------\n'
printf 'Date:             %s\n' "$(date)"
printf 'Quorum provider:  corosync_votequorum\nNodes:            %s\n' "$votes"
printf 'Node ID:          0x%08x\nRing ID:          1.1\nQuorate:          %s\n\n' "$nodeid" "$yes"
printf 'Votequorum information\n----------------------\n'
printf 'Expected votes:   %s\nHighest expected: %s\nTotal votes:      %s\n' "$nodes" "$nodes" "$votes"
printf 'Quorum:           %s %s\nFlags:            %s\n' "$((nodes / 2 + 1))" "$([ "$yes" = No ] && echo Activity blocked)" "$flags"
[ "$yes" = Yes ] || exit 2
EOF
chmod 0755 /usr/sbin/corosync-quorumtool
cat > /usr/bin/pvecm <<'EOF'
#!/bin/bash
# stand-in for pvecm (node lab): `pvecm status` prints the cluster header and the stand-in
# corosync-quorumtool's quorum report; exits 0 either way, as pvecm status does.
set -euo pipefail
if [ "${1:-}" != status ] || [ "$#" -ne 1 ]; then echo "usage: pvecm status (stand-in)" >&2; exit 2; fi
printf 'Cluster information\n-------------------\nName:             pve-lab\nConfig Version:   1\nTransport:        knet\nSecure auth:      on\n\n'
corosync-quorumtool -s || [ "$?" -eq 2 ]
EOF
chmod 0755 /usr/bin/pvecm

# --- quiet, deterministic boots: no timers that touch apt or disks ----------------------------
systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer dpkg-db-backup.timer fstrim.timer >/dev/null 2>&1
# each node gets its own machine id, written by the lab before its first boot
rm -f /etc/machine-id
ln -sf /etc/machine-id /var/lib/dbus/machine-id
