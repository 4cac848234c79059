/*
 * check_sshkey.c - unit tests for RSA key loading and signing: sshkey.c,
 * rsasign.c, bcrypt_pbkdf.c and blowfish.c.
 *
 * Blowfish and bcrypt_pbkdf are checked against published vectors
 * (Schneier's all-zero Blowfish vector; bcrypt_pbkdf vectors shared by
 * several independent implementations).  The keys below were made once
 * with ssh-keygen and openssl (throwaway 1024-bit keys, used nowhere):
 * the same RSA key in OpenSSH format, PEM and PKCS#8, and keys encrypted
 * with aes256-ctr (ssh-keygen's default), aes128-cbc and aes256-gcm
 * (which sshtun cannot decrypt).  Each loads with the right passphrase,
 * says BAD_PASS with a wrong one, NEED_PASS with none; signatures made
 * under each algorithm name verify with the key's public half; the blob
 * carries the algorithm name.  Corrupted texts are refused, never
 * crash.
 */
#include "config.h"

#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/bcrypt_pbkdf.h"
#include "engine/blowfish.h"
#include "engine/keyfile.h"
#include "engine/rsasign.h"
#include "engine/sshbuf.h"
#include "engine/sshkey.h"

#include "check_util.h"

/* ssh-keygen -t rsa -b 1024 -N '' */
static const char key_plain[] =
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAlwAAAAdzc2gtcn\n"
    "NhAAAAAwEAAQAAAIEAxkpQpw054yzxaW4rLgLHKpjO6my2xCqIvfjXllO5SMh6pjE0LAUc\n"
    "ZGW4RHz1R1Bx5m5KVnJCEaJPfCF9cFDzaw06dYtYVscnm5sV2kFS8XozhFeEWgYIxB1xbz\n"
    "RuUkru9S6O6Fa2jjTstlDxC0j4WFyiboKrlIrzA5DEqebbonMAAAH4PgAKbT4ACm0AAAAH\n"
    "c3NoLXJzYQAAAIEAxkpQpw054yzxaW4rLgLHKpjO6my2xCqIvfjXllO5SMh6pjE0LAUcZG\n"
    "W4RHz1R1Bx5m5KVnJCEaJPfCF9cFDzaw06dYtYVscnm5sV2kFS8XozhFeEWgYIxB1xbzRu\n"
    "Ukru9S6O6Fa2jjTstlDxC0j4WFyiboKrlIrzA5DEqebbonMAAAADAQABAAAAgAJKV3Ymg/\n"
    "Wozj0OhbcpVw2Z6EHy8YWAjEXNewgEfY5mqmwDA3xCrtpGBoPcAaVKO5aSzY8EENlNS6e+\n"
    "Z0mF1dnwf6NeKbQTvdJ42uPzCdVRIBq5qybuVgIUA+C6gawfAXJIFJLURVPqXPSQg7sBmf\n"
    "uHqv8OiMySL5b0y82vSojBAAAAQEz6kDJWGBaxnijEp1q1yoiMGtNjWLy479HTW4FZEHUK\n"
    "CWBHHhoQ8MOtpOwcDxysMKCFEBPq6XO1sLyo+sVV5uwAAABBAOOm//fRktVT2ZSzfVQ1BK\n"
    "oxg2S984KWKSVLrDIUh55lU1TRBbOQLQu2IUD4tlXv9bYkCDvXxKpJARyp0Pg4I+EAAABB\n"
    "AN77UyZFaoP0JpKa55pWR8vOprta/t3C85BXj3nuCgWf2tMG9k3gUFtOngjEwLct4OiZNW\n"
    "ZTm3cZOMUCrJlYENMAAAABdAEC\n"
    "-----END OPENSSH PRIVATE KEY-----\n";

/* ssh-keygen -t rsa -b 1024 -N secret -a 4 */
static const char key_enc[] =
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0AAAAGAAAABBkb3E/8k\n"
    "EJgK6c3cKLv/N1AAAABAAAAAEAAACXAAAAB3NzaC1yc2EAAAADAQABAAAAgQDf/FT3aF1B\n"
    "8m8pGHUslbvs1A345BZKl+Op6ozE6HOgzfFE8etwf7gQlf3qVU6CtsqFec958awsQU3Sy8\n"
    "HoHsQFoYq9igHRNFOE1Fwt62G1DKVD8vYYM2Pvu11LyuShEj2cD3sc4T7okKH+L/ixPOQF\n"
    "Fh6Wt+Rk93/m5aGNNc299QAAAgBHlfmrGsBya5D1TI+eKCI74Bno6oTfrRDxK2y/z6IiTP\n"
    "uov52zdLwTZDphiu4HIywVb0S6VGxk0BePfO0fHpH/FfSSZESUm8ewY1HKi5GoeCvZfnIP\n"
    "v204o2dt8SItw8kDMPCttxFiihyxm/dory/bnLGb/Qk6yLr4wLvnBJtVympJWb3Ym9a9C2\n"
    "4Y6iT3A4tw3lwB/2HQdluzLJmJ85OY8KEZNAucrTeOSrYWc2aAmlxnXMCx44owuMIlHJVh\n"
    "LgE51ZTIoOt76cxykX/sfq4WWjleuNxR278iwHyl8cPRS4+XPY+2cyh4IwNa5jIZGRU4ZF\n"
    "Ao5Vz5fse4isSoFBATfZ0Dh0Du6iY5lzryRz3eZ2jnKxuarLnbdKKlazkHlZMGyDNupKNT\n"
    "Ea9icpFb9U1AQ0PpJRKjUxkgkQecdGMqkEv7/qvIOuL9u587XLBgH9xURaK/snhDfyMwbU\n"
    "DSodp2dIljU1UV0ItYoHHN3D/xwQSeJfsRtjxDxaZlyvEPWKYQ2AI2vifHVeErp7ZI25nb\n"
    "T37ZngfWKa+LX9nLxkX16oGkIEbeaclHTYPc/jy5ee7shAtDaX0GCTqOspQOb4ZiBUXq4x\n"
    "uh7l5XFEqvB5RGU5FEcMr4X9KNYFkd4vA7e3NNN81jx+VbSRlzd8THLF4NORR7G4CZyaOr\n"
    "LUbGCWZXNA==\n"
    "-----END OPENSSH PRIVATE KEY-----\n";

/* ssh-keygen -t rsa -b 1024 -N secret -a 4 -Z aes128-cbc */
static const char key_cbc[] =
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAACmFlczEyOC1jYmMAAAAGYmNyeXB0AAAAGAAAABBlLI4xu/\n"
    "9D4paTcxT35FN/AAAABAAAAAEAAACXAAAAB3NzaC1yc2EAAAADAQABAAAAgQCkZPBcgxLV\n"
    "o0q1MuDuMgluiOCO0bn3et6yI5vVxvb9TXhnwH2DLuo7eb0IF0W9qAlkez/4g7iV/GQy3K\n"
    "LFSC0TWWKUZoV/Z0B3lBD5pFbmzLj1b/mxtEcgn9YypKa134Sv7f+VjtGL2lRj9Q1AXIZd\n"
    "7sdXRyTOi6NS7kWQBXfGDQAAAgBlZTW5EQSZcJKKFzGLuDk9mmT+fdAuvUKHao90asD1gJ\n"
    "pQLS8LTxlUyZYncR1pgAkiipTFwlQQE+awMPJIMan1QdgQP7fXZkaVdlE9rRDGOzt+r0Vf\n"
    "i6twsdiYE5U0YX82mGzZ2/CLm+eEV02OhjXf7VKZv9fcf37+GZ7DwE9ic/1mrnzobE3Yhj\n"
    "v0jcHHTZ5YTKEQuM0cNP6ZuZGoUOMZxD/QgR5yaQyfyhr1n8rTpWfAybrx0TGiVkKvMY+R\n"
    "FA7Qx7M/EjCqSb3+R8rx9lq6eS7h0LHlOVJMFOzd+4b6wuJ0KU52ykqV1WaNQhY54Ul7hM\n"
    "fnCKciyPxKLRTG6D92zL5RWbmRH7LgfXPRekKyvlGF9mm7o56OUaR6ZhnFxehX2uWI6/Fy\n"
    "xWYCDSkV16wcm0vSXekRROOO20Lc3XgsStvvcIMbjlsp3DUEcn5f+4DxowpWzzGxXIqup6\n"
    "0H0d4Cvj7lU/OAFAUbSni9o7fDq2d77Vm15JylpP3WegRx7vu5EmsXbxhKwQnqgcU6PRPs\n"
    "DXAj3BLZWIg2yS8CWg6Mcn4yZchBgSLsg+Ix1nahHN6jcDuboWQGNTB4gSNE6K93muvZA4\n"
    "rleyOB3aDHhkstTSbFwyUTmx4suOGIq+LBihbTHkeIVdieCDs1o/OtP2KvtzCkOUofUnqk\n"
    "6veQut59LA==\n"
    "-----END OPENSSH PRIVATE KEY-----\n";

/* ssh-keygen -t rsa -b 1024 -N secret -a 4 -Z aes256-gcm@openssh.com */
static const char key_gcm[] =
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAAFmFlczI1Ni1nY21Ab3BlbnNzaC5jb20AAAAGYmNyeXB0AA\n"
    "AAGAAAABD3W9ITIXrO8Ju8ItkVpODvAAAABAAAAAEAAACXAAAAB3NzaC1yc2EAAAADAQAB\n"
    "AAAAgQCwP0ANrbQYf9Q7M3h3wXmNa9nym/tkGn00OnD+BUg5CHM0yv3zBR3ROjkygTH41q\n"
    "T/Akd6vjR+vZAGnrMXG2lNm37c0e8BRD6rgn58i8VLDLBx86CGwqqbiEa8Ad/+/LcY8sZk\n"
    "jyalGtm3qk7GYHF7+iyW+l1pCnbQvbfWSHk9cwAAAgAVnCiTstgQ+a6kVM3KIxzHq3WsSM\n"
    "mxMclSmFEvfy+9HAp4cOzq1OXgaKy0zZ/mR+pzDUmW+jay716iElXJ0nG64dE3jpde3chH\n"
    "xxkyOT3NksEFhwGF90dIXrgy/d1QduJOp5R/xQ24vh20dx9GdMVTIMgxk2Ik8yEoooVALX\n"
    "XHBYQjoQ6mCgpxxuViBtptXeqtaU3UgfzBdT24GoTpbukILCre3Eqxk+jakb3aQwrxN4K3\n"
    "8vEoU+ZiN1f/OSWMYPpOZ7PPilmX4oxqj684aEV+vg9DmopoIuJMspNB3/hSDIXjR6P1hI\n"
    "lIMZM/lBvTaC6Y3pgK5GU6EMdUtPcxbXJEulOkHfIS9dRShwzgg36aw4nqaT83B5fZGIgN\n"
    "uw2rd3htRtbK54OBWPRmspTtteV5ZMsUtxm1acNyhYgu8H8c6kFvdy8Be1P6D17CVFdVWR\n"
    "zPX3IgNlwHeYzaxEj1yNXopc/JaBj2lcVX3DMNJD6hbpv75AHdylF3GMhOpJ1JvtIVPffm\n"
    "6NZDxluGybLgfDfIGqbEP5DkeJp8wYY0W1HSxiAZ7rGiUdoaPjmYcjVwZ4oqmcmEhR3lQi\n"
    "yQZ7ugvBAuUfU3Jm+hIp54Kj3CgOKwQHRscNPOHlz1vdvOG+BjKsfNdVpDrPz4iHISZfwX\n"
    "xvVrpYIKhKSW1rBHu/nFIpFkh82kQcvqo/Sma2fI3hNoBFQ=\n"
    "-----END OPENSSH PRIVATE KEY-----\n";

/* the plain key, ssh-keygen -p -m PEM -N '' */
static const char key_pem[] =
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIICXAIBAAKBgQDGSlCnDTnjLPFpbisuAscqmM7qbLbEKoi9+NeWU7lIyHqmMTQs\n"
    "BRxkZbhEfPVHUHHmbkpWckIRok98IX1wUPNrDTp1i1hWxyebmxXaQVLxejOEV4Ra\n"
    "BgjEHXFvNG5SSu71Lo7oVraONOy2UPELSPhYXKJugquUivMDkMSp5tuicwIDAQAB\n"
    "AoGAAkpXdiaD9ajOPQ6FtylXDZnoQfLxhYCMRc17CAR9jmaqbAMDfEKu2kYGg9wB\n"
    "pUo7lpLNjwQQ2U1Lp75nSYXV2fB/o14ptBO90nja4/MJ1VEgGrmrJu5WAhQD4LqB\n"
    "rB8BckgUktRFU+pc9JCDuwGZ+4eq/w6IzJIvlvTLza9KiMECQQDjpv/30ZLVU9mU\n"
    "s31UNQSqMYNkvfOCliklS6wyFIeeZVNU0QWzkC0LtiFA+LZV7/W2JAg718SqSQEc\n"
    "qdD4OCPhAkEA3vtTJkVqg/QmkprnmlZHy86mu1r+3cLzkFePee4KBZ/a0wb2TeBQ\n"
    "W06eCMTAty3g6Jk1ZlObdxk4xQKsmVgQ0wJBALlAxd2Rwq4snMvAQEXNGy2wOx84\n"
    "4DctIPCDou3h/Patt+E2czBLLAzyuh7YBfDq44XDzpt8G0MDQ49itXW4oaECQBOj\n"
    "dvNL8dGlUzBeTD+fkbs1fCHMJd5KKUFxNMW8XU2ZgqBLYK4DL5CbH/gNvBtmAwT5\n"
    "WWalvm+C3Skczy7CPtkCQEz6kDJWGBaxnijEp1q1yoiMGtNjWLy479HTW4FZEHUK\n"
    "CWBHHhoQ8MOtpOwcDxysMKCFEBPq6XO1sLyo+sVV5uw=\n"
    "-----END RSA PRIVATE KEY-----\n";

/* the plain key, ssh-keygen -p -m PEM -N secret */
static const char key_pemenc[] =
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "Proc-Type: 4,ENCRYPTED\n"
    "DEK-Info: AES-128-CBC,92287486225D858FDF94B1D559B28118\n"
    "\n"
    "DMezRMOmx5dCHMTl0GUZxGB7twT7i1VbArd9R3CuODK8P2PiI+B98Tu5ypm1Qunk\n"
    "9rqGMVnQP8dL+ndtmwWhS22w5nu52X/77TFhiZEoUw8depc8pGjdPxCLgnIPEyJS\n"
    "Z5Z10cj2RY894q+5k+ggtgsNIBhMRbvkGXapI64cwMaEUPYbIlSoc+5OkLcXl34w\n"
    "kxMt7JOVasv1VaDBVd3Fw4McvNpiFk6RetLFDnq9l2bSbxKZjwAJlPUlALhoFbgl\n"
    "8SQ17ijOn53Gp3qvvb+ZU81uUzqyhpZ81Hk6xKO6UZYQabw+CsEV2l7g99EXKszb\n"
    "BthjDf651yUrGrD6f9KUDiGeMmND0nfX6Il6Vlbe6Sw6WbTQedNnhhC/JXnvz6D9\n"
    "qrqsspPvFeJjCmosEjdPRUGNiKc0cuJa9G61jDpSpmfppCX8sr9hz4jwxAmUw812\n"
    "NczwC0Pmn3HK601q/ya6OSc7r2TIsLpUAlqMO7FJ0Hdw3KtccHJxuH0oTOL/5Ok/\n"
    "bRfu6xPmPS4KalG/ZYeXR9Xpddwtc0Kl/PDlxik3Pt5sxqQbCg8gaLXu3vF9iHFg\n"
    "nmGfA3aJYaHRrXq2XkAhEIvQflEIjvEYEvjtXm5llYKcuCPUtRtAJVcU0rJ1TCNE\n"
    "4UzXMPd4GFz/PJ8BgvFFeBlnpTDE8wCYgohZkZe0NZojL2DDroxMp2OrwF2m5RU8\n"
    "or31jw/72pMFnlAIO2wiriTZ5TnnAdYHtbXjL7rbloxx4AnyLqXxhBxtSUgFY8aG\n"
    "0nng76KX9U9MQ/3DsvfvW2WG6UhX7GqVuwM7WrAPHX8RtFRVgV9OJJCzPROgVQnE\n"
    "-----END RSA PRIVATE KEY-----\n";

/* the plain key, ssh-keygen -p -m PKCS8 -N secret */
static const char key_p8enc[] =
    "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
    "MIIC3TBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQI3YcFRYhnICQCAggA\n"
    "MAwGCCqGSIb3DQIJBQAwHQYJYIZIAWUDBAECBBCcCpO0gDcFNyQaAwbMlS/7BIIC\n"
    "gLbfCP3M7yXwQekruciUb0sy9Z/KpfVGd0gMlIMVUJHTEc4KRXEtCXzVl4718iIO\n"
    "w9teHuvNlIi5KffdmxzYUPK172g9zYaqINAdHBdOBX9ZmdGA2Dm20WktTkueVCLU\n"
    "pJirBNIm3at7MSn2fQvqOGswMesqdcQdiwB6P1CKA0Je+Q1RZOjtOTnIzje+VG2x\n"
    "Pwpb8tqf9+tc0W+r8wWFCcGWDDXhp2hFm2dfJlnNro2F2qTaHV7PrBObGVbBErWz\n"
    "KyS4Q4ULrtNqBQ2uPJ+jTuTFX7+0L1SMctllr5S20EDmdn3raBbha9QYVlijn8/I\n"
    "pcXLlo8PKgqfcpG6/W62W8srhY/j76M0zlQnqpiZObQqUNJ7yE5PUu9qOQU1XWgb\n"
    "wnR/oQiNoBv2wAbjn/CAWW1gjbSDHCcECegK+JdtK0v8D8cpiB4S3maKE6L5lv3R\n"
    "PZwPnz+AiiLNVdHEyUSj59Q/CEFsGllAsGXo3RjXgAYVjispwY9cpLH6scNz6Yet\n"
    "EQGRHTQKK+uuhJRWvQet/R4lllfne2JF8ZkE7POLB2uMbJoUZq8zUZxVAk0hPu96\n"
    "IpNTeSHf5lnYe1aUqtdlTB6Daqr0YSSO2v+/i/TP3K4dCeAopn+jCrf6NNAuaIvA\n"
    "/m5zzOmb8NqMcEqY6iafK9gJzN8Yx2PyUBhikr/x3CgnX+mMCiml84dWDiBbiSCY\n"
    "xxxSCk58eK6t69W4GmHamgukeCDF8q3dhc2HVDjZ1aZhNqfgD4sWfkmIlWm44IQN\n"
    "jzjHy2jhDbCYtCxnhwpLK/r20bzXOUgfpWXNzTHytasiS1JnvGfZS8z0O83255yU\n"
    "SjfO6CGb6dYsq/cYmZ0/ceg=\n"
    "-----END ENCRYPTED PRIVATE KEY-----\n";

/* openssl genrsa -traditional 768 */
static const char key_small[] =
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIBygIBAAJhALuQSO4lim1ZQuk5SJlLNkU7P6LScEu9e4NzomWaUGXYGQO5KPOw\n"
    "8KmuZ6XicKR5wUwaeRkZYBkq0SVTuEyq1HplqirRaDC1XVDj9CO/7T5JHyPBPCi7\n"
    "NKesD2odGbHn8QIDAQABAmEAm34bJ+rRXqPAV87Yg9UZcb2TnO0ukWvNiIWFnQuY\n"
    "GUZUPoTzEUufyFvAq4IU9hXEoWkx0p6zYW5N8As5ALgyvFz3rR4epUmju8e/6/8l\n"
    "4P18/p8TDM6g8NBjW3Z6U+TNAjEA337vcdYigympg4JjcaApXEzg0afxDSYDvoHZ\n"
    "u5Mq0dtPX5QEKpMljzzwxG6IxMeHAjEA1teKyPujoBbhJBv4yA6Acb9zEayzgVy/\n"
    "x4t6uSXWnPuhEj9B3Cg/pikXXQVm5kLHAjB8AKfF13OqppEBAHVAdAa+yYDrkmyy\n"
    "SOdG6jDuXAckDLSLaUqufJoYUU2dD18fHz0CMBZeyyyyRw9cUoUYBIeQOv+dF7Y3\n"
    "bVmC9tUoSNcOgZJHATaNL6Zk6nu6u5wL+/Lt8QIwEB9NoYcq+HEJS+pzAP16vXYr\n"
    "vbA+zGaK+caokoXhBlcvVPJ5YC9iP52k2rbzjtEH\n"
    "-----END RSA PRIVATE KEY-----\n";

/* ssh-keygen -t ed25519 -N '' */
static const char key_ed[] =
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "QyNTUxOQAAACBibRiFfqpGfL8btbxbebbO3gtpVtuvB8kueQFQKtjmzgAAAIjBN10awTdd\n"
    "GgAAAAtzc2gtZWQyNTUxOQAAACBibRiFfqpGfL8btbxbebbO3gtpVtuvB8kueQFQKtjmzg\n"
    "AAAEBP9q0e6ysBY9njVOQ08kaoMg2NuDwuUF0N4PG1qHvHDGJtGIV+qkZ8vxu1vFt5ts7e\n"
    "C2lW268HyS55AVAq2ObOAAAAAXQBAgME\n"
    "-----END OPENSSH PRIVATE KEY-----\n";

/* The plain key's public blob (plain.pub, base64). */
static const char pub_plain_b64[] =
    "AAAAB3NzaC1yc2EAAAADAQABAAAAgQDGSlCnDTnjLPFpbisuAscqmM7qbLbEKoi9+NeWU7lIyHqmMTQsBRxkZbhEfPVHUHHmbkpWckIRok98IX1wUPNrDTp1i1hWxyebmxXaQVLxejOEV4RaBgjEHXFvNG5SSu71Lo7oVraONOy2UPELSPhYXKJugquUivMDkMSp5tuicw==";
/* Load text (exact-size copy, no NUL) with pass; returns the status. */
static int load(const char *text, const char *pass, EVP_PKEY **k)
{
    size_t len = strlen(text);
    char *copy = malloc(len), why[200];
    int rc;

    memcpy(copy, text, len);
    rc = sshkey_load_rsa(copy, len, pass, k, why, sizeof why);
    free(copy);
    return rc;
}

/* Hex of n bytes. */
static void hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02X", b[i]);
}

START_TEST(blowfish_zero_vector)
{
    struct blowfish bf;
    uint8_t key[8] = { 0 };
    uint32_t l = 0, r = 0;

    blowfish_init(&bf);
    blowfish_expand(&bf, NULL, 0, key, sizeof key);
    blowfish_encrypt(&bf, &l, &r);
    ck_assert_uint_eq(l, 0x4EF99745);
    ck_assert_uint_eq(r, 0x6198DD78);
}
END_TEST

START_TEST(bcrypt_pbkdf_vectors)
{
    static const struct {
        const char *pass;
        size_t passlen;
        const char *salt;
        size_t saltlen;
        unsigned rounds;
        const char *want;
    } v[] = {
        { "password", 8, "salt", 4, 4,
          "5BBF0CC293587F1C3635555C27796598D47E579071BF427E9D8FBE842ABA34D9" },
        { "password", 8, "\0", 1, 4, "C12B566235EEE04C212598970A579A67" },
        { "\0", 1, "salt", 4, 4, "6051BE18C2F4F82CBF0EFEE5471B4BB9" },
        { "password\0", 9, "salt\0", 5, 4,
          "7410E44CF4FA07BFAAC8A928B1727FAC001375E7BF7384370F48EFD121743050" },
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t out[64];
        char got[129];
        size_t n = strlen(v[i].want) / 2;
        ck_assert_int_eq(bcrypt_pbkdf(v[i].pass, v[i].passlen,
                                      (const uint8_t *)v[i].salt,
                                      v[i].saltlen, out, n, v[i].rounds), 0);
        hex(out, n, got);
        ck_assert_str_eq(got, v[i].want);
    }
}
END_TEST

START_TEST(bcrypt_pbkdf_bad_arguments)
{
    uint8_t out[BCRYPT_PBKDF_MAX_KEY + 1];

    ck_assert_int_eq(bcrypt_pbkdf("p", 1, (const uint8_t *)"s", 1, out, 16,
                                  0), -1);
    ck_assert_int_eq(bcrypt_pbkdf("p", 1, (const uint8_t *)"s", 0, out, 16,
                                  1), -1);
    ck_assert_int_eq(bcrypt_pbkdf("p", 1, (const uint8_t *)"s", 1, out, 0,
                                  1), -1);
    ck_assert_int_eq(bcrypt_pbkdf("p", 1, (const uint8_t *)"s", 1, out,
                                  sizeof out, 1), -1);
}
END_TEST

/* Whether k and the plain key have the same public numbers. */
static int same_as_plain(EVP_PKEY *k)
{
    EVP_PKEY *p = NULL;
    int same;

    ck_assert_int_eq(load(key_plain, NULL, &p), SSHKEY_OK);
    same = EVP_PKEY_eq(k, p) == 1;
    EVP_PKEY_free(p);
    return same;
}

START_TEST(every_format_loads)
{
    static const struct { const char *text; const char *pass; } v[] = {
        { key_plain, NULL }, { key_enc, "secret" }, { key_cbc, "secret" },
        { key_pem, NULL }, { key_pemenc, "secret" }, { key_p8enc, "secret" },
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        EVP_PKEY *k = NULL;
        ck_assert_msg(load(v[i].text, v[i].pass, &k) == SSHKEY_OK,
                      "key %zu", i);
        ck_assert_int_eq(EVP_PKEY_get_bits(k), 1024);
        if (v[i].text != key_cbc && v[i].text != key_enc)
            ck_assert(same_as_plain(k));
        EVP_PKEY_free(k);
    }
}
END_TEST

START_TEST(passphrases)
{
    const char *enc[] = { key_enc, key_cbc, key_pemenc, key_p8enc };
    EVP_PKEY *k = NULL;

    for (size_t i = 0; i < sizeof enc / sizeof enc[0]; i++) {
        ck_assert_int_eq(load(enc[i], NULL, &k), SSHKEY_NEED_PASS);
        ck_assert_ptr_null(k);
        ck_assert_int_eq(load(enc[i], "wrong", &k), SSHKEY_BAD_PASS);
        ck_assert_ptr_null(k);
        ck_assert_int_eq(load(enc[i], "", &k), SSHKEY_BAD_PASS);
    }
    /* A passphrase given for a key that has none is not needed. */
    ck_assert_int_eq(load(key_plain, "secret", &k), SSHKEY_OK);
    EVP_PKEY_free(k);
}
END_TEST

START_TEST(unusable_keys_say_why)
{
    EVP_PKEY *k = NULL;
    char why[200];

    ck_assert_int_eq(sshkey_load_rsa(key_gcm, strlen(key_gcm), "secret", &k,
                                     why, sizeof why), SSHKEY_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(why, "aes256-gcm@openssh.com"));
    /* Refused before any passphrase is asked for. */
    ck_assert_int_eq(load(key_gcm, NULL, &k), SSHKEY_UNSUPPORTED);
    ck_assert_int_eq(sshkey_load_rsa(key_small, strlen(key_small), NULL, &k,
                                     why, sizeof why), SSHKEY_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(why, "768-bit"));
    ck_assert_int_eq(load(key_ed, NULL, &k), SSHKEY_NOT_RSA);
    ck_assert_int_eq(load("hello", NULL, &k), SSHKEY_INVALID);
    ck_assert_ptr_null(k);
}
END_TEST

START_TEST(corruption_is_refused)
{
    size_t len = strlen(key_plain);
    char *t = malloc(len);
    char why[200];

    /* Flip each base64 character in turn: never OK with other numbers,
     * never a crash (run under valgrind and ASan). */
    for (size_t i = 40; i < len - 40; i += 7) {
        EVP_PKEY *k = NULL;
        int rc;
        memcpy(t, key_plain, len);
        if (t[i] == '\n' || t[i] == '-')
            continue;
        t[i] = t[i] == 'A' ? 'B' : 'A';
        rc = sshkey_load_rsa(t, len, NULL, &k, why, sizeof why);
        if (rc == SSHKEY_OK) {
            ck_assert(same_as_plain(k));   /* padding or comment bytes */
            EVP_PKEY_free(k);
        }
    }
    /* Every truncation. */
    for (size_t n = 0; n < len; n += 5) {
        EVP_PKEY *k = NULL;
        memcpy(t, key_plain, n);
        ck_assert_int_ne(sshkey_load_rsa(t, n, NULL, &k, why, sizeof why),
                         SSHKEY_OK);
    }
    free(t);
}
END_TEST

/* Verify sig over data with k's public half under md. */
static int verifies(EVP_PKEY *k, const EVP_MD *md, const uint8_t *data,
                    size_t len, const uint8_t *sig, size_t siglen)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = EVP_DigestVerifyInit(ctx, NULL, md, NULL, k) == 1
             && EVP_DigestVerify(ctx, sig, siglen, data, len) == 1;

    EVP_MD_CTX_free(ctx);
    return ok;
}

START_TEST(signatures_verify)
{
    static const char *const algs[] = { "rsa-sha2-512", "rsa-sha2-256",
                                        "ssh-rsa" };
    const EVP_MD *mds[] = { EVP_sha512(), EVP_sha256(), EVP_sha1() };
    const uint8_t data[] = "session id and request";
    EVP_PKEY *k = NULL;

    ck_assert_int_eq(load(key_enc, "secret", &k), SSHKEY_OK);
    for (int i = 0; i < 3; i++) {
        uint8_t *sig;
        size_t siglen;
        ck_assert_int_eq(rsasign_sign(k, algs[i], data, sizeof data, &sig,
                                      &siglen), 0);
        ck_assert_uint_eq(siglen, 128);
        ck_assert(verifies(k, mds[i], data, sizeof data, sig, siglen));
        ck_assert(!verifies(k, mds[(i + 1) % 3], data, sizeof data, sig,
                            siglen));
        free(sig);
    }
    {
        uint8_t *sig = (uint8_t *)"x";
        size_t siglen;
        ck_assert_int_eq(rsasign_sign(k, "ssh-ed25519", data, sizeof data,
                                      &sig, &siglen), -1);
        ck_assert_ptr_null(sig);
    }
    EVP_PKEY_free(k);
}
END_TEST

START_TEST(blob_carries_the_algorithm)
{
    uint8_t blob[RSASIGN_BLOB_MAX], pub[1024], renamed[1024];
    struct sshbuf_reader r;
    const uint8_t *s;
    size_t slen;
    EVP_PKEY *k = NULL;
    long n, publen, rn;

    ck_assert_int_eq(load(key_plain, NULL, &k), SSHKEY_OK);
    n = rsasign_blob(k, "rsa-sha2-512", blob, sizeof blob);
    ck_assert_int_gt(n, 0);
    sshbuf_reader_init(&r, blob, (size_t)n);
    ck_assert_int_eq(sshbuf_get_string(&r, &s, &slen), 0);
    ck_assert(sshbuf_string_is(s, slen, "rsa-sha2-512"));
    /* The rest is e and n exactly as in the .pub file's ssh-rsa blob. */
    publen = keyfile_base64_decode(pub_plain_b64, strlen(pub_plain_b64), pub,
                                   sizeof pub);
    ck_assert_int_eq(publen - 11, n - 16);
    ck_assert(!memcmp(pub + 11, blob + 16, (size_t)(n - 16)));
    rn = rsasign_rename_blob(pub, (size_t)publen, "rsa-sha2-512", renamed,
                             sizeof renamed);
    ck_assert_int_eq(rn, n);
    ck_assert(!memcmp(renamed, blob, (size_t)n));
    ck_assert_int_eq(rsasign_rename_blob(pub, (size_t)publen, "rsa-sha2-512",
                                         renamed, 20), -1);
    ck_assert_int_eq(rsasign_blob(k, "rsa-sha2-512", blob, 30), -1);
    EVP_PKEY_free(k);
}
END_TEST

/* The test suite. */
static Suite *suite(void)
{
    Suite *s = suite_create("sshkey");
    TCase *t = tcase_create("core");

    tcase_set_timeout(t, 60);
    tcase_add_test(t, blowfish_zero_vector);
    tcase_add_test(t, bcrypt_pbkdf_vectors);
    tcase_add_test(t, bcrypt_pbkdf_bad_arguments);
    tcase_add_test(t, every_format_loads);
    tcase_add_test(t, passphrases);
    tcase_add_test(t, unusable_keys_say_why);
    tcase_add_test(t, corruption_is_refused);
    tcase_add_test(t, signatures_verify);
    tcase_add_test(t, blob_carries_the_algorithm);
    suite_add_tcase(s, t);
    return s;
}

CHECK_MAIN(suite)
