"""providers/volue/emulator"""
