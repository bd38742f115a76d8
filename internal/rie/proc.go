package rie

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// pids lists the numeric entries of /proc.
func pids() []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// stat reads the state and ppid fields of /proc/PID/stat; ok is false when
// the process is gone.
func stat(pid int) (state byte, ppid int, ok bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, 0, false
	}
	// comm may hold spaces and parentheses: fields start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 2 || len(f[0]) != 1 {
		return 0, 0, false
	}
	ppid, _ = strconv.Atoi(string(f[1]))
	return f[0][0], ppid, true
}

// childOf returns one child process of ppid, or 0.
func childOf(ppid int) int {
	for _, pid := range pids() {
		if _, parent, ok := stat(pid); ok && parent == ppid {
			return pid
		}
	}
	return 0
}

// pidNamespace returns the identity of pid's PID namespace, e.g. "pid:[4026532301]".
func pidNamespace(pid int) string {
	ns, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "ns", "pid"))
	if err != nil {
		return ""
	}
	return ns
}

// holdPIDNamespace opens pid's PID namespace and returns the open file with
// the namespace's identity. Namespace inode numbers are recycled once a
// namespace is gone; holding it open keeps the identity unique, so that
// membersOf cannot mistake another emulator's processes for ours.
func holdPIDNamespace(pid int) (*os.File, string) {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "ns", "pid"))
	if err != nil {
		return nil, ""
	}
	// The link read after opening names the namespace we hold, unless pid
	// died in between, in which case this reads nothing.
	ns := pidNamespace(pid)
	if ns == "" {
		f.Close()
		return nil, ""
	}
	return f, ns
}

// membersOf lists the live processes of the PID namespace ns; zombies have
// finished running and only wait for their parent to reap them.
func membersOf(ns string) []int {
	var out []int
	for _, pid := range pids() {
		if state, _, ok := stat(pid); ok && state != 'Z' && pidNamespace(pid) == ns {
			out = append(out, pid)
		}
	}
	return out
}

// listensOn reports whether process pid holds a listening TCP socket on
// 127.0.0.1 for every one of ports.
func listensOn(pid int, ports ...int) bool {
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	// The table lists the sockets of pid's network namespace; the fds tell
	// which of them pid holds.
	table, err := os.ReadFile(filepath.Join(dir, "net", "tcp"))
	if err != nil {
		return false
	}
	want := map[string]int{} // "0100007F:1F90" -> port
	for _, p := range ports {
		want[fmt.Sprintf("0100007F:%04X", p)] = p
	}
	inodes := map[string]int{} // socket inode -> port
	for _, line := range bytes.Split(table, []byte("\n"))[1:] {
		f := bytes.Fields(line)
		// sl local rem st tx:rx tr:when retrnsmt uid timeout inode
		if len(f) < 10 || string(f[3]) != "0A" {
			continue
		}
		if p, ok := want[string(f[1])]; ok {
			inodes["socket:["+string(f[9])+"]"] = p
		}
	}
	if len(inodes) < len(ports) {
		return false
	}
	fds, err := os.ReadDir(filepath.Join(dir, "fd"))
	if err != nil {
		return false
	}
	held := map[int]bool{}
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join(dir, "fd", fd.Name()))
		if err != nil {
			continue
		}
		if p, ok := inodes[link]; ok {
			held[p] = true
		}
	}
	return len(held) == len(ports)
}

// Process returns the host PID of the one process of the emulator (its
// runtime or an extension) whose first argument is arg0, as in
// /opt/extensions/destinations: the emulator's own PID namespace tells its
// processes from those of other emulators.
func (e *Emulator) Process(arg0 string) (int, error) {
	var found []int
	for _, pid := range membersOf(e.pidNS) {
		cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		if err != nil {
			continue
		}
		if first, _, _ := bytes.Cut(cmdline, []byte{0}); string(first) == arg0 {
			found = append(found, pid)
		}
	}
	switch len(found) {
	case 0:
		return 0, fmt.Errorf("no process %s in the emulator's %s", arg0, e.pidNS)
	case 1:
		return found[0], nil
	}
	return 0, fmt.Errorf("several processes %s in the emulator's %s: %v", arg0, e.pidNS, found)
}
