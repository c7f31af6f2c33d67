continue
info threads
kill
