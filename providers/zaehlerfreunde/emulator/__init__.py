"""providers/zaehlerfreunde/emulator"""
