break gdbtest.c:50
continue
shell for c in $(pgrep -P $UHS_PID); do echo "child $(cat /proc/$c/comm): $(find /proc/$c/fd -lname 'socket:*' | wc -l) sockets"; done
shell echo "VMM: $(find /proc/$UHS_PID/fd -lname 'socket:*' | wc -l) sockets"
continue
