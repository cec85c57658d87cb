Un bolígrafo cuesta 4 dólares y un cuaderno cuesta 3 dólares. Juma compra 7 bolígrafos y un cuaderno. ¿Cuántos dólares gasta Juma?
Sofia tiene 30 cuadernos. Yuki tiene 2 cuadernos más que Sofia. ¿Cuántos cuadernos tienen Sofia y Yuki en total?
Sofia hornea 48 galletas y pone 8 galletas en cada bolsa. ¿Cuántas bolsas llena Sofia?
En la tienda, un cuaderno cuesta 3 dólares. Anna compra 4 cuadernos. ¿Cuántos dólares paga Anna?
Cada caja contiene 26 manzanas.
Lena tiene 12 cuadernos. Daniel tiene el doble de cuadernos que Lena. ¿Cuántos cuadernos tienen Lena y Daniel en total?
En la clase hay 15 alumnos.
Yuki tiene 15 caramelos y le regala 7 a un amigo. ¿Cuántos caramelos le quedan a Yuki?
Tom tiene 23 pelotas. Tom compra 6 pelotas más. ¿Cuántas pelotas tiene Tom ahora?
En una granja hay 12 gallinas y 5 vacas. ¿Cuántas patas tienen estos animales en total?
Lena compra 43 caramelos en la tienda.
Un aula tiene 3 filas de sillas con 8 sillas en cada fila. ¿Cuántas sillas hay en el aula?
Amina ahorra 6 dólares cada semana. ¿Cuántos dólares ahorra Amina en 4 semanas?
Anna reparte 12 manzanas en partes iguales entre 6 amigos. ¿Cuántas manzanas recibe cada amigo?
En un autobús hay 35 personas. En una parada bajan 13 personas y suben 2. ¿Cuántas personas hay ahora en el autobús?
Omar compra 4 cajas de lápices. Cada caja contiene 3 lápices. ¿Cuántos lápices compra Omar en total?
Lena tiene 47 manzanas.
Ravi camina 10 kilómetros cada día.
Un libro tiene 21 páginas. Amina lee 3 páginas cada día. ¿Cuántos días necesita Amina para terminar el libro?
Amina tiene 93 dólares y compra un libro que cuesta 61 dólares. ¿Cuántos dólares le quedan a Amina?
Ravi tiene 24 caramelos. Compra 15 caramelos más y después le regala 2 a un amigo. ¿Cuántos caramelos tiene Ravi ahora?
Un bolígrafo cuesta 5 dólares y un cuaderno cuesta 13 dólares. Sofia compra 3 bolígrafos y un cuaderno. ¿Cuántos dólares gasta Sofia?
Carlos tiene 20 cuadernos. Amina tiene 11 cuadernos más que Carlos. ¿Cuántos cuadernos tienen Carlos y Amina en total?
Yuki hornea 36 galletas y pone 6 galletas en cada bolsa. ¿Cuántas bolsas llena Yuki?
En la tienda, un cuaderno cuesta 6 dólares. Sofia compra 5 cuadernos. ¿Cuántos dólares paga Sofia?
Cada caja contiene 30 manzanas.
Pedro tiene 8 manzanas. Tom tiene el doble de manzanas que Pedro. ¿Cuántas manzanas tienen Pedro y Tom en total?
En la clase hay 34 alumnos.
Daniel tiene 30 pelotas y le regala 23 a un amigo. ¿Cuántas pelotas le quedan a Daniel?
Tom tiene 18 cuadernos. Tom compra 20 cuadernos más. ¿Cuántos cuadernos tiene Tom ahora?
En una granja hay 12 gallinas y 6 vacas. ¿Cuántas patas tienen estos animales en total?
Lena compra 10 galletas en la tienda.
Un aula tiene 3 filas de sillas con 10 sillas en cada fila. ¿Cuántas sillas hay en el aula?
Daniel ahorra 10 dólares cada semana. ¿Cuántos dólares ahorra Daniel en 6 semanas?
Tom reparte 28 lápices en partes iguales entre 7 amigos. ¿Cuántos lápices recibe cada amigo?
En un autobús hay 31 personas. En una parada bajan 15 personas y suben 13. ¿Cuántas personas hay ahora en el autobús?
Lena compra 4 cajas de manzanas. Cada caja contiene 10 manzanas. ¿Cuántas manzanas compra Lena en total?
Pedro tiene 21 caramelos.
Lena camina 16 kilómetros cada día.
Un libro tiene 54 páginas. Lena lee 9 páginas cada día. ¿Cuántos días necesita Lena para terminar el libro?
Yuki tiene 34 dólares y compra un libro que cuesta 8 dólares. ¿Cuántos dólares le quedan a Yuki?
Lena tiene 19 lápices. Compra 15 lápices más y después le regala 24 a un amigo. ¿Cuántos lápices tiene Lena ahora?
Un bolígrafo cuesta 6 dólares y un cuaderno cuesta 11 dólares. Ravi compra 8 bolígrafos y un cuaderno. ¿Cuántos dólares gasta Ravi?
Juma tiene 7 caramelos. Lena tiene 7 caramelos más que Juma. ¿Cuántos caramelos tienen Juma y Lena en total?
Yuki hornea 56 galletas y pone 7 galletas en cada bolsa. ¿Cuántas bolsas llena Yuki?
En la tienda, un cuaderno cuesta 15 dólares. Lena compra 6 cuadernos. ¿Cuántos dólares paga Lena?
Cada caja contiene 49 galletas.
Daniel tiene 8 galletas. Pedro tiene el doble de galletas que Daniel. ¿Cuántas galletas tienen Daniel y Pedro en total?
En la clase hay 30 alumnos.
Pedro tiene 30 lápices y le regala 15 a un amigo. ¿Cuántos lápices le quedan a Pedro?
Pedro tiene 6 caramelos. Pedro compra 18 caramelos más. ¿Cuántos caramelos tiene Pedro ahora?
En una granja hay 8 gallinas y 10 vacas. ¿Cuántas patas tienen estos animales en total?
Omar compra 14 caramelos en la tienda.
Un aula tiene 7 filas de sillas con 8 sillas en cada fila. ¿Cuántas sillas hay en el aula?
Daniel ahorra 9 dólares cada semana. ¿Cuántos dólares ahorra Daniel en 7 semanas?
Anna reparte 36 caramelos en partes iguales entre 4 amigos. ¿Cuántos caramelos recibe cada amigo?
En un autobús hay 22 personas. En una parada bajan 7 personas y suben 9. ¿Cuántas personas hay ahora en el autobús?
Yuki compra 3 cajas de caramelos. Cada caja contiene 8 caramelos. ¿Cuántos caramelos compra Yuki en total?
Lena tiene 33 cuadernos.
Pedro camina 14 kilómetros cada día.
