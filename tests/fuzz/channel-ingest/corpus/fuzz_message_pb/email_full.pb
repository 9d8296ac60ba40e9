* ¼ŽØ€”ï::idem-1¢ma@b.vnminh@example.vn*
HÃ³a Ä‘Æ¡n2*
hd.pdfapplication/pdf€ä—Ð"	https://x:p@b.vnBr@b.vnBp@b.vn