CREATE DATABASE atiende_rasa OWNER atiende;
