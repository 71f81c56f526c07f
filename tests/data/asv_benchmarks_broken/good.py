def time_ok():
    pass
