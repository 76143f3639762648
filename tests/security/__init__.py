"""Attack and fault reproductions from the hardening issue: each shows the attack refused or contained."""
