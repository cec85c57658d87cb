Un libro tiene 10 páginas. Juma lee 5 páginas cada día. ¿Cuántos días necesita Juma para terminar el libro?
Pedro tiene 41 dólares y compra un libro que cuesta 7 dólares. ¿Cuántos dólares le quedan a Pedro?
Sofia compra 20 pelotas en la tienda.
Anna tiene 6 cuadernos. Amina tiene el doble de cuadernos que Anna. ¿Cuántos cuadernos tienen Anna y Amina en total?
Juma compra 6 cajas de lápices. Cada caja contiene 9 lápices. ¿Cuántos lápices compra Juma en total?
Cada caja contiene 30 pelotas.
En un autobús hay 10 personas. En una parada bajan 7 personas y suben 4. ¿Cuántas personas hay ahora en el autobús?
Yuki tiene 15 caramelos y le regala 7 a un amigo. ¿Cuántos caramelos le quedan a Yuki?
Tom tiene 23 pelotas rojas y 6 pelotas amarillas. ¿Cuántas pelotas tiene Tom?
En una granja hay 12 gallinas y 5 vacas. ¿Cuántas patas tienen estos animales en total?
Lena ahorra 4 dólares cada semana. ¿Cuántos dólares ahorra Lena en 4 semanas?
Anna tiene 4 pelotas.
Un aula tiene 5 filas de sillas con 5 sillas en cada fila. ¿Cuántas sillas hay en el aula?
Anna tiene 31 manzanas. Compra 13 manzanas más y después le regala 36 a un amigo. ¿Cuántas manzanas tiene Anna ahora?
Yuki tiene 15 manzanas. Pedro tiene 7 manzanas más que Yuki. ¿Cuántas manzanas tienen Yuki y Pedro en total?
Un bolígrafo cuesta 4 dólares y un cuaderno cuesta 3 dólares. Yuki compra 4 bolígrafos y un cuaderno. ¿Cuántos dólares gasta Yuki?
Omar hornea 30 galletas y pone 3 galletas en cada bolsa. ¿Cuántas bolsas llena Omar?
Yuki tiene 5 manzanas. Yuki compra 12 manzanas más. ¿Cuántas manzanas tiene Yuki ahora?
Amina tiene 33 caramelos. Anna tiene 8 caramelos. ¿Cuántos caramelos tienen Amina y Anna en total?
Tom camina 2 kilómetros cada día.
En la clase hay 17 alumnos.
Tom reparte 18 manzanas en partes iguales entre 2 amigos. ¿Cuántas manzanas recibe cada amigo?
En la tienda, un lápiz cuesta 8 dólares. Anna compra 6 lápices. ¿Cuántos dólares paga Anna?
Un libro tiene 35 páginas. Sofia lee 7 páginas cada día. ¿Cuántos días necesita Sofia para terminar el libro?
Amina tiene 77 dólares y compra un libro que cuesta 13 dólares. ¿Cuántos dólares le quedan a Amina?
Yuki compra 49 manzanas en la tienda.
Daniel tiene 22 pelotas. Omar tiene el doble de pelotas que Daniel. ¿Cuántas pelotas tienen Daniel y Omar en total?
Lena compra 5 cajas de cuadernos. Cada caja contiene 12 cuadernos. ¿Cuántos cuadernos compra Lena en total?
Cada caja contiene 44 manzanas.
En un autobús hay 36 personas. En una parada bajan 34 personas y suben 4. ¿Cuántas personas hay ahora en el autobús?
Sofia tiene 12 galletas y le regala 8 a un amigo. ¿Cuántas galletas le quedan a Sofia?
Daniel tiene 20 caramelos rojos y 11 caramelos amarillos. ¿Cuántos caramelos tiene Daniel?
En una granja hay 13 gallinas y 4 vacas. ¿Cuántas patas tienen estos animales en total?
Juma ahorra 16 dólares cada semana. ¿Cuántos dólares ahorra Juma en 6 semanas?
Lena tiene 30 lápices.
Un aula tiene 7 filas de sillas con 8 sillas en cada fila. ¿Cuántas sillas hay en el aula?
Lena tiene 19 caramelos. Compra 11 caramelos más y después le regala 27 a un amigo. ¿Cuántos caramelos tiene Lena ahora?
Tom tiene 9 pelotas. Sofia tiene 3 pelotas más que Tom. ¿Cuántas pelotas tienen Tom y Sofia en total?
Un bolígrafo cuesta 6 dólares y un cuaderno cuesta 10 dólares. Tom compra 3 bolígrafos y un cuaderno. ¿Cuántos dólares gasta Tom?
Lena hornea 12 galletas y pone 2 galletas en cada bolsa. ¿Cuántas bolsas llena Lena?
Juma tiene 29 pelotas. Juma compra 4 pelotas más. ¿Cuántas pelotas tiene Juma ahora?
Omar tiene 17 pelotas. Yuki tiene 14 pelotas. ¿Cuántas pelotas tienen Omar y Yuki en total?
Lena camina 20 kilómetros cada día.
En la clase hay 34 alumnos.
Anna reparte 32 caramelos en partes iguales entre 8 amigos. ¿Cuántos caramelos recibe cada amigo?
En la tienda, un caramelo cuesta 12 dólares. Pedro compra 9 caramelos. ¿Cuántos dólares paga Pedro?
Un libro tiene 90 páginas. Yuki lee 10 páginas cada día. ¿Cuántos días necesita Yuki para terminar el libro?
Amina tiene 41 dólares y compra un libro que cuesta 23 dólares. ¿Cuántos dólares le quedan a Amina?
Sofia compra 24 galletas en la tienda.
Pedro tiene 9 caramelos. Sofia tiene el doble de caramelos que Pedro. ¿Cuántos caramelos tienen Pedro y Sofia en total?
Sofia compra 6 cajas de pelotas. Cada caja contiene 7 pelotas. ¿Cuántas pelotas compra Sofia en total?
Cada caja contiene 49 galletas.
En un autobús hay 39 personas. En una parada bajan 12 personas y suben 9. ¿Cuántas personas hay ahora en el autobús?
Lena tiene 37 lápices y le regala 23 a un amigo. ¿Cuántos lápices le quedan a Lena?
Sofia tiene 34 lápices rojos y 7 lápices amarillos. ¿Cuántos lápices tiene Sofia?
En una granja hay 7 gallinas y 6 vacas. ¿Cuántas patas tienen estos animales en total?
Tom ahorra 13 dólares cada semana. ¿Cuántos dólares ahorra Tom en 8 semanas?
Sofia tiene 27 lápices.
Un aula tiene 11 filas de sillas con 8 sillas en cada fila. ¿Cuántas sillas hay en el aula?
Anna tiene 14 manzanas. Compra 14 manzanas más y después le regala 18 a un amigo. ¿Cuántas manzanas tiene Anna ahora?
