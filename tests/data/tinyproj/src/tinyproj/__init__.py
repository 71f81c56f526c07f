"""A tiny project for benchwatch's end-to-end tests: one function to slow down."""


def work(n):
    total = 0
    for i in range(n):
        total += i * i
    return total
