
BlogitsJ(¶eC<¼˜´¼MÙ>RB¾VÚ?@}>À†¾\c¿YÊú>d\$?