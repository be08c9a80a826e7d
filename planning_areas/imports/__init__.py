"""Imports of planning-area data: reading files, preparing rows, writing them.

``reading`` reads the files municipalities publish; ``areas`` imports a layer's
areas; ``addresses`` the address index; ``views`` is the admin upload page.
"""
