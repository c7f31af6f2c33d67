hbreak add
continue
print a
delete
continue
