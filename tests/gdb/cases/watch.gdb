watch counter
continue
print counter
continue
