import Kernels

print("NST Lab: the kernels are in place; the shell is not built yet.")
