"""gateway/readings"""
