"""The seed site (a Django site on Tencent VOD, /work/shared/seeds/000_8038f9aa1a353da8.txt) moved to
OpenVOD: its page, its front-end and back-end code, and the tests that run them."""
