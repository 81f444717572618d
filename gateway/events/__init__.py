"""gateway/events"""
