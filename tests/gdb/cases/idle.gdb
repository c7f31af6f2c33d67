break add
continue
shell sleep 3
next
print sum
continue
