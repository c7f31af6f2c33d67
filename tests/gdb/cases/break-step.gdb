break add
continue
next
print sum
print a
finish
continue
