"""providers/emulation"""
